# tests/tui: the wizard driven in tmux
