# tests/integration/engine.mk: the transfer engine against real Dovecot servers
# (tests/lab/mflab): fidelity, folder plan, size, resume, crashes, exit statuses.
# MF_LONG_TESTS=1 makes engine_crash.test try every crash point of its hook.
ENGINE_TESTS = \
	tests/integration/engine_fidelity.test \
	tests/integration/engine_logins.test \
	tests/integration/engine_folders.test \
	tests/integration/engine_large.test \
	tests/integration/engine_bulk.test \
	tests/integration/engine_crash.test \
	tests/integration/engine_nomulti.test \
	tests/integration/engine_uidvalidity.test \
	tests/integration/engine_refused.test \
	tests/integration/engine_dryrun.test \
	tests/integration/engine_preexisting.test \
	tests/integration/engine_exit.test \
	tests/integration/engine_every.test \
	tests/integration/engine_caps.test \
	tests/integration/engine_conns.test \
	tests/integration/engine_status.test \
	tests/integration/engine_setup.test \
	tests/integration/engine_overlap.test \
	tests/integration/engine_subscribe.test \
	tests/integration/engine_flags.test \
	tests/integration/engine_verify.test
TESTS += $(ENGINE_TESTS)
EXTRA_DIST += $(ENGINE_TESTS) tests/integration/engine_lib.sh
