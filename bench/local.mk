# bench: scripts comparing mailferry with mbsync (see bench/README)
