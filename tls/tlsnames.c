/* tlsnames: see tlsnames.h. */
#include <stdio.h>

#include <bearssl.h>

#include "tlsnames.h"

/* AES-128-GCM first: as strong as needed and cheapest; ChaCha20 for clients
 * without AES instructions (they list it first and we honour only our order,
 * so it comes after AES-256). */
uint16_t const tls_suites[] = {
  BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
  BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
  BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
  BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
  BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};
unsigned int const tls_nsuites = sizeof tls_suites / sizeof tls_suites[0];

static struct { uint16_t id; char const *name; } const suite_names[] = {
  { BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256" },
  { BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384" },
  { BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384" },
  { BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305" },
  { BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305" },
};

char const *tls_suite_name(uint16_t suite)
{
  for (unsigned int i = 0; i < sizeof suite_names / sizeof suite_names[0]; i++)
    if (suite_names[i].id == suite) return suite_names[i].name;
  return "unknown";
}

char const *tls_version_name(unsigned int version)
{
  switch (version) {
    case BR_TLS10: return "TLSv1";
    case BR_TLS11: return "TLSv1.1";
    case BR_TLS12: return "TLSv1.2";
    default: return "unknown";
  }
}

#define E(x) { x, #x }
static struct { int code; char const *name; } const err_names[] = {
  E(BR_ERR_OK), E(BR_ERR_BAD_PARAM), E(BR_ERR_BAD_STATE), E(BR_ERR_UNSUPPORTED_VERSION),
  E(BR_ERR_BAD_VERSION), E(BR_ERR_BAD_LENGTH), E(BR_ERR_TOO_LARGE), E(BR_ERR_BAD_MAC),
  E(BR_ERR_NO_RANDOM), E(BR_ERR_UNKNOWN_TYPE), E(BR_ERR_UNEXPECTED), E(BR_ERR_BAD_CCS),
  E(BR_ERR_BAD_ALERT), E(BR_ERR_BAD_HANDSHAKE), E(BR_ERR_OVERSIZED_ID),
  E(BR_ERR_BAD_CIPHER_SUITE), E(BR_ERR_BAD_COMPRESSION), E(BR_ERR_BAD_FRAGLEN),
  E(BR_ERR_BAD_SECRENEG), E(BR_ERR_EXTRA_EXTENSION), E(BR_ERR_BAD_SNI),
  E(BR_ERR_BAD_HELLO_DONE), E(BR_ERR_LIMIT_EXCEEDED), E(BR_ERR_BAD_FINISHED),
  E(BR_ERR_RESUME_MISMATCH), E(BR_ERR_INVALID_ALGORITHM), E(BR_ERR_BAD_SIGNATURE),
  E(BR_ERR_WRONG_KEY_USAGE), E(BR_ERR_NO_CLIENT_AUTH), E(BR_ERR_IO),
  E(BR_ERR_X509_OK), E(BR_ERR_X509_INVALID_VALUE), E(BR_ERR_X509_TRUNCATED),
  E(BR_ERR_X509_EMPTY_CHAIN), E(BR_ERR_X509_INNER_TRUNC), E(BR_ERR_X509_BAD_TAG_CLASS),
  E(BR_ERR_X509_BAD_TAG_VALUE), E(BR_ERR_X509_INDEFINITE_LENGTH),
  E(BR_ERR_X509_EXTRA_ELEMENT), E(BR_ERR_X509_UNEXPECTED), E(BR_ERR_X509_NOT_CONSTRUCTED),
  E(BR_ERR_X509_NOT_PRIMITIVE), E(BR_ERR_X509_PARTIAL_BYTE), E(BR_ERR_X509_BAD_BOOLEAN),
  E(BR_ERR_X509_OVERFLOW), E(BR_ERR_X509_BAD_DN), E(BR_ERR_X509_BAD_TIME),
  E(BR_ERR_X509_UNSUPPORTED), E(BR_ERR_X509_LIMIT_EXCEEDED), E(BR_ERR_X509_WRONG_KEY_TYPE),
  E(BR_ERR_X509_BAD_SIGNATURE), E(BR_ERR_X509_TIME_UNKNOWN), E(BR_ERR_X509_EXPIRED),
  E(BR_ERR_X509_DN_MISMATCH), E(BR_ERR_X509_BAD_SERVER_NAME),
  E(BR_ERR_X509_CRITICAL_EXTENSION), E(BR_ERR_X509_NOT_CA),
  E(BR_ERR_X509_FORBIDDEN_KEY_USAGE), E(BR_ERR_X509_WEAK_PUBLIC_KEY),
  E(BR_ERR_X509_NOT_TRUSTED),
};
#undef E

/* TLS alert descriptions (RFC 5246 7.2), for the ones a peer is likely to see */
static struct { int code; char const *name; } const alert_names[] = {
  { 0, "close_notify" }, { 10, "unexpected_message" }, { 20, "bad_record_mac" },
  { 22, "record_overflow" }, { 40, "handshake_failure" }, { 42, "bad_certificate" },
  { 43, "unsupported_certificate" }, { 44, "certificate_revoked" },
  { 45, "certificate_expired" }, { 46, "certificate_unknown" },
  { 47, "illegal_parameter" }, { 48, "unknown_ca" }, { 50, "decode_error" },
  { 51, "decrypt_error" }, { 70, "protocol_version" }, { 71, "insufficient_security" },
  { 80, "internal_error" }, { 86, "inappropriate_fallback" }, { 90, "user_canceled" },
  { 100, "no_renegotiation" }, { 110, "unsupported_extension" },
  { 112, "unrecognized_name" },
};

static char const *alert(char *buf, size_t len, char const *dir, int a)
{
  for (unsigned int i = 0; i < sizeof alert_names / sizeof alert_names[0]; i++)
    if (alert_names[i].code == a) {
      snprintf(buf, len, "alert_%s:%s", dir, alert_names[i].name);
      return buf;
    }
  snprintf(buf, len, "alert_%s:%d", dir, a);
  return buf;
}

char const *tls_error_name(int err)
{
  static char buf[48];
  if (err >= BR_ERR_SEND_FATAL_ALERT) return alert(buf, sizeof buf, "sent", err - BR_ERR_SEND_FATAL_ALERT);
  if (err >= BR_ERR_RECV_FATAL_ALERT) return alert(buf, sizeof buf, "received", err - BR_ERR_RECV_FATAL_ALERT);
  for (unsigned int i = 0; i < sizeof err_names / sizeof err_names[0]; i++)
    if (err_names[i].code == err) return err_names[i].name;
  snprintf(buf, sizeof buf, "BR_ERR_%d", err);
  return buf;
}
