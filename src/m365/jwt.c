/* mailferry - JWT client assertions signed with OpenSSL */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "m365/jwt.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/secret.h"

struct jwt_signer {
	X509 *cert;        /* owned */
	EVP_PKEY *pkey;    /* owned */
	char x5t[32];      /* base64url SHA-1: 27 characters */
	char x5t_s256[48]; /* base64url SHA-256: 43 characters */
};

int jwt_base64(struct mf_buf *b, const void *p, size_t n, int url)
{
	static const char std[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char web[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *alpha = url ? web : std;
	const unsigned char *s = p;
	size_t full = n / 3, rest = n % 3, out_len;
	char *o;

	if (n > ((size_t)-1 - 8) / 4 * 3)
		return -1;
	out_len = full * 4 + (rest ? (url ? rest + 1 : 4) : 0);
	if (buf_reserve(b, out_len))
		return -1;
	o = b->data + b->len;
	for (size_t i = 0; i < full; i++, s += 3) {
		uint32_t v = (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];

		*o++ = alpha[v >> 18];
		*o++ = alpha[v >> 12 & 63];
		*o++ = alpha[v >> 6 & 63];
		*o++ = alpha[v & 63];
	}
	if (rest) {
		uint32_t v = (uint32_t)s[0] << 16 | (rest == 2 ? (uint32_t)s[1] << 8 : 0);

		*o++ = alpha[v >> 18];
		*o++ = alpha[v >> 12 & 63];
		if (rest == 2)
			*o++ = alpha[v >> 6 & 63];
		if (!url) {
			if (rest == 1)
				*o++ = '=';
			*o++ = '=';
		}
	}
	b->len += out_len;
	b->data[b->len] = 0;
	return 0;
}

int jwt_guid(char out[37])
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	r[6] = (unsigned char)((r[6] & 0x0F) | 0x40); /* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3F) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
	         r[13], r[14], r[15]);
	return 0;
}

/* The first OpenSSL error as text ("" when the queue is empty); clears it. */
static const char *ossl_reason(char *buf, size_t n)
{
	unsigned long e = ERR_get_error();

	buf[0] = 0;
	if (e)
		ERR_error_string_n(e, buf, n);
	ERR_clear_error();
	return buf;
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	const struct mf_secret *pass = u;
	size_t n = secret_len(pass);

	if (!pass || size <= 0)
		return -1;
	if (n > (size_t)size)
		n = (size_t)size;
	memcpy(buf, secret_str(pass), n);
	return (int)n;
}

static int thumbprint(const X509 *cert, const EVP_MD *md, char *out, size_t cap)
{
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	struct mf_buf b;
	int rc = -1;

	if (X509_digest(cert, md, dig, &len) != 1)
		return -1;
	buf_init(&b, 0);
	if (!jwt_base64(&b, dig, len, 1) && b.len < cap) {
		memcpy(out, b.data, b.len + 1);
		rc = 0;
	}
	buf_free(&b);
	return rc;
}

static int load_fail(struct jwt_signer *s, struct mf_err *err, const char *what, const char *file)
{
	char why[256];

	ossl_reason(why, sizeof(why));
	jwt_signer_free(s);
	return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "%s %s%s%s", what, file,
	               why[0] ? ": " : "", why);
}

int jwt_signer_load(const char *cert_file, const char *key_file, const struct mf_secret *passphrase,
                    struct jwt_signer **out, struct mf_err *err)
{
	struct jwt_signer *s;
	BIO *bio;

	*out = NULL;
	if (!key_file)
		key_file = cert_file;
	if (!cert_file)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "no certificate file given");
	s = mf_calloc(1, sizeof(*s));
	if (!s)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	ERR_clear_error();
	bio = BIO_new_file(cert_file, "r");
	if (bio) {
		s->cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (!s->cert)
		return load_fail(s, err, "cannot read the certificate in", cert_file);
	bio = BIO_new_file(key_file, "r");
	if (bio) {
		s->pkey =
		        PEM_read_bio_PrivateKey(bio, NULL, pass_cb, (void *)(uintptr_t)passphrase);
		BIO_free(bio);
	}
	if (!s->pkey)
		return load_fail(s, err, "cannot read the private key in", key_file);
	if (!EVP_PKEY_is_a(s->pkey, "RSA") && !EVP_PKEY_is_a(s->pkey, "RSA-PSS")) {
		jwt_signer_free(s);
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "the key in %s is not an RSA key (PS256 and RS256 need one)",
		               key_file);
	}
	if (X509_check_private_key(s->cert, s->pkey) != 1) {
		ERR_clear_error();
		jwt_signer_free(s);
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "the private key in %s does not belong to the certificate in %s",
		               key_file, cert_file);
	}
	if (thumbprint(s->cert, EVP_sha1(), s->x5t, sizeof(s->x5t)) ||
	    thumbprint(s->cert, EVP_sha256(), s->x5t_s256, sizeof(s->x5t_s256)))
		return load_fail(s, err, "cannot compute the thumbprint of", cert_file);
	*out = s;
	return 0;
}

void jwt_signer_free(struct jwt_signer *s)
{
	if (!s)
		return;
	X509_free(s->cert);
	EVP_PKEY_free(s->pkey);
	free(s);
}

const char *jwt_signer_x5t(const struct jwt_signer *s)
{
	return s->x5t;
}

const char *jwt_signer_x5t_s256(const struct jwt_signer *s)
{
	return s->x5t_s256;
}

/* Signs data with SHA-256 and the padding of alg; *sig is OPENSSL_malloc'd. */
static int sign(EVP_PKEY *pkey, enum jwt_alg alg, const char *data, size_t n, unsigned char **sig,
                size_t *sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok = 0;

	*sig = NULL;
	if (!md)
		return -1;
	if (EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, pkey, NULL) != 1)
		goto out;
	if (alg == JWT_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0))
		goto out;
	if (alg == JWT_RS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto out;
	if (EVP_DigestSign(md, NULL, sig_len, (const unsigned char *)data, n) != 1)
		goto out;
	*sig = OPENSSL_malloc(*sig_len);
	if (!*sig)
		goto out;
	ok = EVP_DigestSign(md, *sig, sig_len, (const unsigned char *)data, n) == 1;
out:
	EVP_MD_CTX_free(md);
	if (!ok) {
		OPENSSL_free(*sig);
		*sig = NULL;
	}
	return ok ? 0 : -1;
}

/* Appends base64url(JSON of the header) '.' base64url(JSON of the claims). */
static int signing_input(struct mf_buf *out, const struct jwt_signer *s, enum jwt_alg alg,
                         const char *aud, const char *client_id, const char *jti, int64_t now)
{
	struct mf_buf j;
	struct json_w w;
	int rc = -1;

	buf_init(&j, 0);
	json_w_init(&w, &j);
	json_w_object_begin(&w);
	json_w_kv_str(&w, "alg", alg == JWT_PS256 ? "PS256" : "RS256");
	json_w_kv_str(&w, "typ", "JWT");
	if (alg == JWT_PS256)
		json_w_kv_str(&w, "x5t#S256", s->x5t_s256);
	else
		json_w_kv_str(&w, "x5t", s->x5t);
	json_w_object_end(&w);
	if (json_w_finish(&w) || jwt_base64(out, j.data, j.len, 1) || buf_putc(out, '.'))
		goto out;
	buf_reset(&j);
	json_w_init(&w, &j);
	json_w_object_begin(&w);
	json_w_kv_str(&w, "aud", aud);
	json_w_kv_str(&w, "iss", client_id);
	json_w_kv_str(&w, "sub", client_id);
	json_w_kv_str(&w, "jti", jti);
	json_w_kv_int(&w, "nbf", now);
	json_w_kv_int(&w, "iat", now);
	json_w_kv_int(&w, "exp", now + JWT_ASSERTION_LIFETIME_S);
	json_w_object_end(&w);
	if (json_w_finish(&w) || jwt_base64(out, j.data, j.len, 1))
		goto out;
	rc = 0;
out:
	buf_free(&j);
	return rc;
}

int jwt_client_assertion(const struct jwt_signer *s, enum jwt_alg alg, const char *aud,
                         const char *client_id, const char *jti, int64_t now,
                         struct mf_secret **out, struct mf_err *err)
{
	char guid[37], why[256];
	struct mf_buf b;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	int rc = -1;

	*out = NULL;
	if (!jti) {
		if (jwt_guid(guid))
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_INTERNAL,
			               "the random number generator failed");
		jti = guid;
	}
	buf_init(&b, 0);
	if (signing_input(&b, s, alg, aud, client_id, jti, now)) {
		mf_fail_nomem(err, MF_SCOPE_BATCH);
		goto out;
	}
	ERR_clear_error();
	if (sign(s->pkey, alg, b.data, b.len, &sig, &sig_len)) {
		mf_fail(err, MF_SCOPE_BATCH, MF_E_INTERNAL,
		        "signing the client assertion failed: %s", ossl_reason(why, sizeof(why)));
		goto out;
	}
	/* Reserve the whole signature part at once: the signed JWT never moves
	 * through realloc (which would leave an unwiped copy behind). */
	if (buf_reserve(&b, 1 + (sig_len + 2) / 3 * 4) || buf_putc(&b, '.') ||
	    jwt_base64(&b, sig, sig_len, 1)) {
		mf_fail_nomem(err, MF_SCOPE_BATCH);
		goto out;
	}
	*out = secret_new(b.data, b.len);
	if (!*out) {
		mf_fail_nomem(err, MF_SCOPE_BATCH);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(sig);
	buf_free_secure(&b);
	return rc;
}
