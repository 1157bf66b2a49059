/* mailferry unit tests - shared scaffolding: every unit test binary prints TAP. */
#ifndef MF_TESTS_UNIT_H
#define MF_TESTS_UNIT_H

#include <check.h>
#include <stdlib.h>

#define UNIT_MAIN(make_suite)                                                  \
	int main(void)                                                         \
	{                                                                      \
		SRunner *sr = srunner_create(make_suite());                    \
		int failed;                                                    \
		srunner_set_tap(sr, "-");                                      \
		srunner_run_all(sr, CK_SILENT);                                \
		failed = srunner_ntests_failed(sr);                            \
		srunner_free(sr);                                              \
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;                   \
	}

#endif
