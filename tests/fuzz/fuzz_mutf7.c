/* Fuzz target for modified UTF-7 (src/imap/mutf7.c).
 *
 * Properties: whatever decodes must encode back to exactly the same bytes
 * (one name, one spelling); whatever encodes must be printable ASCII and
 * decode back to the input; valid UTF-8 without controls always encodes. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/mutf7.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static int same(const struct mf_buf *b, const uint8_t *data, size_t size)
{
	return b->len == size && (size == 0 || memcmp(b->data, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct mf_buf dec, enc, back;

	buf_init(&dec, 0);
	buf_init(&enc, 0);
	buf_init(&back, 0);
	if (mutf7_decode(s, size, &dec) == 0) {
		CHECK(mutf7_encode(dec.data ? dec.data : "", dec.len, &back) == 0);
		CHECK(same(&back, data, size));
	} else {
		CHECK(dec.len == 0);
	}
	if (mutf7_encode(s, size, &enc) == 0) {
		for (size_t i = 0; i < enc.len; i++)
			CHECK(enc.data[i] >= 0x20 && enc.data[i] <= 0x7e);
		buf_reset(&back);
		CHECK(mutf7_decode(enc.data ? enc.data : "", enc.len, &back) == 0);
		CHECK(same(&back, data, size));
	} else {
		CHECK(enc.len == 0);
		CHECK(!utf8_valid(s, size));
	}
	buf_free(&dec);
	buf_free(&enc);
	buf_free(&back);
	return 0;
}
