/* mailferry - JWT client assertions for the Microsoft identity platform
 *
 * An application that authenticates with a certificate proves it by sending a
 * short-lived JWT signed with the certificate's private key instead of a
 * client secret (RFC 7523 "private_key_jwt").  Microsoft's current rules:
 * header {"alg":"PS256","typ":"JWT","x5t#S256":<base64url SHA-256 of the
 * certificate DER>}; the older form, still accepted, is RS256 with "x5t"
 * (SHA-1).  Claims: aud = the token endpoint URL, iss = sub = the client ID,
 * jti = a fresh GUID, nbf = iat = now, exp = now + 10 minutes.
 *
 * Ownership: a struct jwt_signer owns the certificate and the private key it
 * loaded; the signed assertion is handed out as a struct mf_secret (it is a
 * bearer credential for its 10 minutes) that the caller frees.  A signer may
 * be used from several threads at once (each call uses its own contexts).
 */
#ifndef MF_M365_JWT_H
#define MF_M365_JWT_H

#include <stddef.h>
#include <stdint.h>

struct mf_buf;
struct mf_err;
struct mf_secret;

enum jwt_alg {
	JWT_PS256 = 0, /* RSASSA-PSS, SHA-256, salt = digest length; header x5t#S256 */
	JWT_RS256,     /* RSASSA-PKCS1-v1_5, SHA-256; header x5t (SHA-1 thumbprint) */
};

#define JWT_ASSERTION_LIFETIME_S 600

struct jwt_signer;

/* Loads a PEM certificate and its RSA private key (key_file NULL: the key is
 * in cert_file too; passphrase may be NULL).  Refuses a key that is not RSA
 * or does not belong to the certificate.  0 or -1 (MF_E_CONFIG, scope
 * MF_SCOPE_BATCH; MF_E_NOMEM). */
int jwt_signer_load(const char *cert_file, const char *key_file, const struct mf_secret *passphrase,
                    struct jwt_signer **out, struct mf_err *err);
void jwt_signer_free(struct jwt_signer *s);
/* The certificate thumbprints, base64url without padding (owned by s). */
const char *jwt_signer_x5t(const struct jwt_signer *s);      /* SHA-1 */
const char *jwt_signer_x5t_s256(const struct jwt_signer *s); /* SHA-256 */

/* Builds and signs a client assertion.  jti NULL: a random GUID; now is the
 * wall-clock time in seconds.  *out is a new secret the caller frees. */
int jwt_client_assertion(const struct jwt_signer *s, enum jwt_alg alg, const char *aud,
                         const char *client_id, const char *jti, int64_t now,
                         struct mf_secret **out, struct mf_err *err);

/* A random (version 4) GUID, lowercase "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
 * 0 or -1 when the random generator fails. */
int jwt_guid(char out[37]);

/* Appends base64 of p[0..n): standard alphabet with '=' padding, or (url)
 * base64url without padding.  Reserves the exact room first, so the bytes
 * never move through realloc.  0 or -1. */
int jwt_base64(struct mf_buf *b, const void *p, size_t n, int url);

#endif
