/* Unit tests for src/m365/jwt and the XOAUTH2 string: client assertions are
 * checked with OpenSSL's own verification API, thumbprints are recomputed
 * from the certificate's DER independently, base64 against RFC 4648. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "m365/jwt.h"
#include "m365/oauth.h"
#include "unit.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/secret.h"

static char dir[64];

/* ---------------------------------------------------------------- fixtures */

static EVP_PKEY *new_key(int rsa)
{
	EVP_PKEY *k = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");

	ck_assert_ptr_nonnull(k);
	return k;
}

static X509 *new_cert(EVP_PKEY *k)
{
	X509 *c = X509_new();
	X509_NAME *n;

	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 42);
	X509_gmtime_adj(X509_getm_notBefore(c), 0);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600);
	X509_set_pubkey(c, k);
	n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"mailferry app",
	                           -1, -1, 0);
	X509_set_issuer_name(c, n);
	ck_assert_int_gt(X509_sign(c, k, EVP_sha256()), 0);
	return c;
}

static char *path(const char *name)
{
	static char p[8][128];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void write_pem(const char *name, X509 *c, EVP_PKEY *k, const char *pass)
{
	FILE *f = fopen(path(name), "w");

	ck_assert_ptr_nonnull(f);
	if (c)
		PEM_write_X509(f, c);
	if (k)
		PEM_write_PrivateKey(f, k, pass ? EVP_aes_256_cbc() : NULL, NULL, 0, NULL,
		                     (void *)(uintptr_t)pass);
	fclose(f);
}

static EVP_PKEY *key;
static X509 *cert;

static void setup(void)
{
	strcpy(dir, "/tmp/mf-jwt-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	key = new_key(1);
	cert = new_cert(key);
	write_pem("app.crt", cert, NULL, NULL);
	write_pem("app.key", NULL, key, NULL);
	write_pem("both.pem", cert, key, NULL);
	write_pem("locked.key", NULL, key, "open sesame");
}

static void teardown(void)
{
	const char *names[] = {"app.crt",   "app.key", "both.pem", "locked.key",
	                       "other.key", "ec.crt",  "ec.key"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path(names[i]));
	rmdir(dir);
	X509_free(cert);
	EVP_PKEY_free(key);
}

static struct jwt_signer *load(void)
{
	struct jwt_signer *s = NULL;
	struct mf_err err = {0};

	if (jwt_signer_load(path("app.crt"), path("app.key"), NULL, &s, &err))
		ck_abort_msg("load: %s", err.msg);
	return s;
}

/* ---------------------------------------------------------------- helpers */

static size_t b64url_decode(const char *in, size_t n, unsigned char *out)
{
	char tmp[8192] = {0};
	size_t m = 0;
	int len;

	ck_assert_uint_lt(n + 4, sizeof(tmp));
	for (size_t i = 0; i < n; i++)
		tmp[m++] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	while (m % 4)
		tmp[m++] = '=';
	len = EVP_DecodeBlock(out, (const unsigned char *)tmp, (int)m);
	ck_assert_int_ge(len, 0);
	return (size_t)len - (n % 4 == 2 ? 2 : n % 4 == 3 ? 1 : 0);
}

static struct json_doc *decode_part(const char *p, size_t n)
{
	unsigned char raw[4096];
	struct json_doc *doc = NULL;
	struct mf_err err = {0};
	size_t len = b64url_decode(p, n, raw);

	if (json_parse((const char *)raw, len, NULL, &doc, &err))
		ck_abort_msg("JWT part is not JSON: %s", err.msg);
	return doc;
}

static void expected_thumbprint(const EVP_MD *md, char *out)
{
	unsigned char *der = NULL, dig[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	int n = i2d_X509(cert, &der);
	struct mf_buf b;

	ck_assert_int_gt(n, 0);
	EVP_Digest(der, (size_t)n, dig, &dl, md, NULL);
	OPENSSL_free(der);
	buf_init(&b, 0);
	jwt_base64(&b, dig, dl, 1);
	strcpy(out, b.data);
	buf_free(&b);
}

/* Verifies "header.claims.signature" with the certificate's public key. */
static int verify(const char *jwt, int pss)
{
	const char *dot2 = strrchr(jwt, '.');
	unsigned char sig[1024];
	size_t sl = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	ck_assert_int_eq(
	        EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, X509_get0_pubkey(cert)), 1);
	if (pss) {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
	} else {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING);
	}
	ok = EVP_DigestVerify(md, sig, sl, (const unsigned char *)jwt, (size_t)(dot2 - jwt));
	EVP_MD_CTX_free(md);
	return ok == 1;
}

/* ---------------------------------------------------------------- tests */

START_TEST(base64_matches_rfc4648)
{
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const std[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
	                                  "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	static const char *const url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	struct mf_buf b;

	buf_init(&b, 0);
	for (int i = 0; i < 7; i++) {
		buf_reset(&b);
		ck_assert_int_eq(jwt_base64(&b, in[i], strlen(in[i]), 0), 0);
		ck_assert_str_eq(b.data ? b.data : "", std[i]);
		buf_reset(&b);
		ck_assert_int_eq(jwt_base64(&b, in[i], strlen(in[i]), 1), 0);
		ck_assert_str_eq(b.data ? b.data : "", url[i]);
	}
	buf_reset(&b);
	jwt_base64(&b, "\xfb\xff\xbf", 3, 0);
	ck_assert_str_eq(b.data, "+/+/");
	buf_reset(&b);
	jwt_base64(&b, "\xfb\xff\xbf", 3, 1);
	ck_assert_str_eq(b.data, "-_-_");
	buf_free(&b);
}
END_TEST

START_TEST(guids_are_random_version_4)
{
	char a[37], b[37];

	ck_assert_int_eq(jwt_guid(a), 0);
	ck_assert_int_eq(jwt_guid(b), 0);
	ck_assert_uint_eq(strlen(a), 36);
	ck_assert_str_ne(a, b);
	ck_assert(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
	ck_assert_int_eq(a[14], '4');
	ck_assert(strchr("89ab", a[19]));
	ck_assert_uint_eq(strspn(a, "0123456789abcdef-"), 36);
}
END_TEST

START_TEST(thumbprints_are_those_of_the_certificate)
{
	struct jwt_signer *s = load();
	char sha1[64], sha256[64];

	expected_thumbprint(EVP_sha1(), sha1);
	expected_thumbprint(EVP_sha256(), sha256);
	ck_assert_str_eq(jwt_signer_x5t(s), sha1);
	ck_assert_str_eq(jwt_signer_x5t_s256(s), sha256);
	ck_assert_uint_eq(strlen(sha1), 27);
	ck_assert_uint_eq(strlen(sha256), 43);
	jwt_signer_free(s);
}
END_TEST

START_TEST(ps256_assertion_has_microsoft_claims_and_verifies)
{
	static const char aud[] =
	        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/"
	        "v2.0/token";
	static const char cid[] = "5f0c2b7e-8d41-4c3a-9e6b-1a2d3c4e5f60";
	static const char jti[] = "0b5e3c1d-7a2f-4e9b-8c6d-5f4a3b2c1d0e";
	struct jwt_signer *s = load();
	struct mf_secret *jwt = NULL;
	struct mf_err err = {0};
	struct json_doc *h, *c;
	const char *t, *d1, *d2;
	char x5t[64], *bad;
	int64_t v;

	ck_assert_int_eq(jwt_client_assertion(s, JWT_PS256, aud, cid, jti, 1700000000, &jwt, &err),
	                 0);
	t = secret_str(jwt);
	ck_assert(secret_occurs(t, strlen(t))); /* a live secret: redacted from logs */
	d1 = strchr(t, '.');
	d2 = strrchr(t, '.');
	ck_assert(d1 && d2 && d1 != d2);

	h = decode_part(t, (size_t)(d1 - t));
	ck_assert_str_eq(json_get_str(json_root(h), "alg"), "PS256");
	ck_assert_str_eq(json_get_str(json_root(h), "typ"), "JWT");
	expected_thumbprint(EVP_sha256(), x5t);
	ck_assert_str_eq(json_get_str(json_root(h), "x5t#S256"), x5t);
	ck_assert_ptr_null(json_get(json_root(h), "x5t"));

	c = decode_part(d1 + 1, (size_t)(d2 - d1 - 1));
	ck_assert_str_eq(json_get_str(json_root(c), "aud"), aud);
	ck_assert_str_eq(json_get_str(json_root(c), "iss"), cid);
	ck_assert_str_eq(json_get_str(json_root(c), "sub"), cid);
	ck_assert_str_eq(json_get_str(json_root(c), "jti"), jti);
	ck_assert_int_eq(json_get_int64(json_root(c), "nbf", &v), 0);
	ck_assert_int_eq(v, 1700000000);
	ck_assert_int_eq(json_get_int64(json_root(c), "iat", &v), 0);
	ck_assert_int_eq(v, 1700000000);
	ck_assert_int_eq(json_get_int64(json_root(c), "exp", &v), 0);
	ck_assert_int_eq(v, 1700000000 + 600);

	ck_assert_msg(verify(t, 1), "PSS signature does not verify");
	ck_assert_msg(!verify(t, 0), "a PSS signature must not pass as PKCS#1 v1.5");
	/* one changed byte in the claims breaks it */
	bad = strdup(t);
	bad[d1 - t + 5] = bad[d1 - t + 5] == 'A' ? 'B' : 'A';
	ck_assert(!verify(bad, 1));
	free(bad);
	json_free(h);
	json_free(c);
	secret_free(jwt);
	jwt_signer_free(s);
}
END_TEST

START_TEST(rs256_assertion_uses_x5t_and_pkcs1)
{
	struct jwt_signer *s = load();
	struct mf_secret *a = NULL, *b = NULL;
	struct mf_err err = {0};
	struct json_doc *h, *c1, *c2;
	const char *t, *d1;
	char x5t[64];

	ck_assert_int_eq(jwt_client_assertion(s, JWT_RS256, "aud", "cid", NULL, 1, &a, &err), 0);
	ck_assert_int_eq(jwt_client_assertion(s, JWT_RS256, "aud", "cid", NULL, 1, &b, &err), 0);
	t = secret_str(a);
	d1 = strchr(t, '.');
	h = decode_part(t, (size_t)(d1 - t));
	ck_assert_str_eq(json_get_str(json_root(h), "alg"), "RS256");
	expected_thumbprint(EVP_sha1(), x5t);
	ck_assert_str_eq(json_get_str(json_root(h), "x5t"), x5t);
	ck_assert(verify(t, 0));
	/* a fresh GUID jti each time */
	c1 = decode_part(d1 + 1, (size_t)(strrchr(t, '.') - d1 - 1));
	t = secret_str(b);
	d1 = strchr(t, '.');
	c2 = decode_part(d1 + 1, (size_t)(strrchr(t, '.') - d1 - 1));
	ck_assert_uint_eq(strlen(json_get_str(json_root(c1), "jti")), 36);
	ck_assert_str_ne(json_get_str(json_root(c1), "jti"), json_get_str(json_root(c2), "jti"));
	json_free(h);
	json_free(c1);
	json_free(c2);
	secret_free(a);
	secret_free(b);
	jwt_signer_free(s);
}
END_TEST

START_TEST(keys_are_checked_when_loaded)
{
	struct jwt_signer *s = NULL;
	struct mf_err err = {0};
	struct mf_secret *pass = secret_new("open sesame", 11), *wrong = secret_new("nope", 4);
	EVP_PKEY *other = new_key(1), *ec = new_key(0);
	X509 *ecc = new_cert(ec);

	/* certificate and key in one file */
	ck_assert_int_eq(jwt_signer_load(path("both.pem"), NULL, NULL, &s, &err), 0);
	jwt_signer_free(s);
	/* an encrypted key */
	ck_assert_int_eq(jwt_signer_load(path("app.crt"), path("locked.key"), pass, &s, &err), 0);
	jwt_signer_free(s);
	ck_assert_int_eq(jwt_signer_load(path("app.crt"), path("locked.key"), wrong, &s, &err), -1);
	ck_assert_int_eq(err.code, MF_E_CONFIG);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(jwt_signer_load(path("app.crt"), path("locked.key"), NULL, &s, &err), -1);
	ck_assert(strstr(err.msg, "cannot read the private key"));
	/* a key of another certificate */
	write_pem("other.key", NULL, other, NULL);
	ck_assert_int_eq(jwt_signer_load(path("app.crt"), path("other.key"), NULL, &s, &err), -1);
	ck_assert_msg(strstr(err.msg, "does not belong to the certificate"), "%s", err.msg);
	ck_assert_int_eq(err.scope, MF_SCOPE_BATCH);
	/* not RSA */
	write_pem("ec.crt", ecc, NULL, NULL);
	write_pem("ec.key", NULL, ec, NULL);
	ck_assert_int_eq(jwt_signer_load(path("ec.crt"), path("ec.key"), NULL, &s, &err), -1);
	ck_assert_msg(strstr(err.msg, "not an RSA key"), "%s", err.msg);
	/* missing files */
	ck_assert_int_eq(jwt_signer_load(path("none.crt"), NULL, NULL, &s, &err), -1);
	ck_assert_msg(strstr(err.msg, "cannot read the certificate in"), "%s", err.msg);
	ck_assert_int_eq(jwt_signer_load(path("app.key"), path("app.key"), NULL, &s, &err), -1);
	X509_free(ecc);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(other);
	secret_free(pass);
	secret_free(wrong);
}
END_TEST

START_TEST(xoauth2_string_is_microsofts_format)
{
	/* Microsoft's example: user=test@contoso.onmicrosoft.com^Aauth=Bearer EwBAAl3B...^A^A
	 * encodes to dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVy... */
	struct mf_secret *tok = secret_new("EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA", 40);
	struct mf_secret *ir = NULL;
	struct mf_err err = {0};
	unsigned char raw[256];
	const char want[] = "user=test@contoso.onmicrosoft.com\001auth=Bearer "
	                    "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA\001\001";
	int n;

	ck_assert_int_eq(oauth_xoauth2("test@contoso.onmicrosoft.com", tok, &ir, &err), 0);
	ck_assert_msg(!strncmp(secret_str(ir),
	                       "dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVy", 60),
	              "%s", secret_str(ir));
	n = EVP_DecodeBlock(raw, (const unsigned char *)secret_str(ir), (int)secret_len(ir));
	ck_assert_int_ge(n, (int)sizeof(want) - 1);
	ck_assert(!memcmp(raw, want, sizeof(want) - 1));
	ck_assert_uint_eq(secret_len(ir) % 4, 0);
	ck_assert(secret_occurs(secret_str(ir), secret_len(ir)));
	secret_free(ir);

	/* a mailbox that could smuggle another field is refused */
	ck_assert_int_eq(oauth_xoauth2("a@b\001auth=Bearer x", tok, &ir, &err), -1);
	ck_assert_ptr_null(ir);
	ck_assert_int_eq(oauth_xoauth2("a@b\r\nx", tok, &ir, &err), -1);
	ck_assert_int_eq(oauth_xoauth2("", tok, &ir, &err), -1);
	secret_free(tok);
	tok = secret_new("a\001b", 3);
	ck_assert_int_eq(oauth_xoauth2("a@b", tok, &ir, &err), -1);
	secret_free(tok);
}
END_TEST

static void fail_at(int n)
{
	char v[16];

	snprintf(v, sizeof(v), "%d", n);
	setenv("MAILFERRY_TEST_FAIL_ALLOC", v, 1);
	mf_mem_init_hooks();
}

static void fail_never(void)
{
	unsetenv("MAILFERRY_TEST_FAIL_ALLOC");
	mf_mem_init_hooks();
}

START_TEST(allocation_failures_are_survived)
{
	struct jwt_signer *s = load();
	struct mf_secret *tok = secret_new("tok", 3), *out = NULL;
	struct mf_err err = {0};
	int i, rc;

	for (i = 1; i < 100; i++) {
		fail_at(i);
		rc = jwt_client_assertion(s, JWT_PS256, "aud", "cid", NULL, 1, &out, &err);
		fail_never();
		if (!rc)
			break;
		ck_assert_ptr_null(out);
		ck_assert_int_eq(err.code, MF_E_NOMEM);
	}
	ck_assert_int_lt(i, 100);
	secret_free(out);
	out = NULL;
	for (i = 1; i < 100; i++) {
		fail_at(i);
		rc = oauth_xoauth2("a@b", tok, &out, &err);
		fail_never();
		if (!rc)
			break;
		ck_assert_ptr_null(out);
	}
	ck_assert_int_lt(i, 100);
	secret_free(out);
	for (i = 1; i < 100; i++) {
		struct jwt_signer *t = NULL;

		fail_at(i);
		rc = jwt_signer_load(path("app.crt"), path("app.key"), NULL, &t, &err);
		fail_never();
		jwt_signer_free(t);
		if (!rc)
			break;
	}
	ck_assert_int_lt(i, 100);
	secret_free(tok);
	jwt_signer_free(s);
}
END_TEST

static Suite *jwt_suite(void)
{
	Suite *s = suite_create("jwt");
	TCase *tc = tcase_create("jwt");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, base64_matches_rfc4648);
	tcase_add_test(tc, guids_are_random_version_4);
	tcase_add_test(tc, thumbprints_are_those_of_the_certificate);
	tcase_add_test(tc, ps256_assertion_has_microsoft_claims_and_verifies);
	tcase_add_test(tc, rs256_assertion_uses_x5t_and_pkcs1);
	tcase_add_test(tc, keys_are_checked_when_loaded);
	tcase_add_test(tc, xoauth2_string_is_microsofts_format);
	tcase_add_test(tc, allocation_failures_are_survived);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(jwt_suite)
