/*
 * ESP transforms on OpenSSL cipher contexts that live as long as the SA.
 *
 * node:crypto makes a new cipher object (and a key schedule, a stream
 * wrapper and result buffers) for every packet: ~15 µs per 1400-byte packet
 * on this hardware, most of the server's CPU per GB of tunnel traffic. Here
 * each SA keeps its EVP contexts with the key already set; a packet only
 * re-initialises the IV and runs in place. OpenSSL is the one Node links
 * (its symbols are exported by the node binary; the headers ship with Node),
 * so there is no second crypto library to trust or to keep patched.
 *
 * The packet layout is the one src/apps/ipsec/esp/ciphers.ts documents:
 *   [0,8) SPI ‖ Seq, [8,8+iv) IV, [textAt, icvAt) text, [icvAt, end) ICV.
 * esnHigh < 0 means no extended sequence numbers.
 */
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define EC_MAGIC 0x45535043u
#define SALT_LEN 4
#define AEAD_IV_LEN 8
#define AEAD_TAG_LEN 16
#define CBC_IV_LEN 16

/*
 * An SA only ever seals (outbound) or opens (inbound): each direction's
 * context is made on its first use, from the key kept here, so a tunnel's
 * pair of SAs holds two contexts, not four (~1.2 kB each for AES-GCM).
 */
typedef struct {
  uint32_t magic;
  bool aead;
  const EVP_CIPHER *cipher;
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec;
  HMAC_CTX *mac;
  size_t icv_len;
  size_t key_len;
  uint8_t key[EVP_MAX_KEY_LENGTH];
  uint8_t salt[SALT_LEN];
} esp_ctx;

static void ctx_free(esp_ctx *c) {
  if (c == NULL) return;
  EVP_CIPHER_CTX_free(c->enc); /* cleanses the key schedule */
  EVP_CIPHER_CTX_free(c->dec);
  HMAC_CTX_free(c->mac);
  OPENSSL_cleanse(c, sizeof *c);
  OPENSSL_free(c);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  ctx_free(data);
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, "ESP_CRYPTO", msg);
  return NULL;
}

static bool get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  if (napi_get_typedarray_info(env, v, &type, len, (void **)data, NULL, NULL) != napi_ok) return false;
  return type == napi_uint8_array;
}

static bool get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok && len > 0 && len < size - 1;
}

static bool get_i64(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}

static esp_ctx *get_ctx(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok || p == NULL ||
      ((esp_ctx *)p)->magic != EC_MAGIC) {
    napi_throw_type_error(env, NULL, "expected an ESP crypto handle");
    return NULL;
  }
  return p;
}

static napi_value wrap(napi_env env, esp_ctx *c) {
  napi_value out;
  if (napi_create_external(env, c, finalize, NULL, &out) != napi_ok) {
    ctx_free(c);
    return throw_error(env, "cannot create the handle");
  }
  return out;
}

static esp_ctx *ctx_new(bool aead, const EVP_CIPHER *cipher, const uint8_t *key, size_t key_len) {
  esp_ctx *c = OPENSSL_zalloc(sizeof *c);
  if (c == NULL) return NULL;
  c->magic = EC_MAGIC;
  c->aead = aead;
  c->cipher = cipher;
  c->key_len = key_len;
  memcpy(c->key, key, key_len);
  return c;
}

/* The direction's context, keyed on first use; NULL when OpenSSL refuses. */
static EVP_CIPHER_CTX *direction(esp_ctx *c, bool enc) {
  EVP_CIPHER_CTX **slot = enc ? &c->enc : &c->dec;
  if (*slot != NULL) return *slot;
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  if (x == NULL || EVP_CipherInit_ex(x, c->cipher, NULL, c->key, NULL, enc ? 1 : 0) != 1) {
    EVP_CIPHER_CTX_free(x);
    return NULL;
  }
  if (!c->aead) EVP_CIPHER_CTX_set_padding(x, 0);
  *slot = x;
  return x;
}

/* createAead(cipherName, key, salt) */
static napi_value create_aead(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[32];
  uint8_t *key, *salt;
  size_t key_len, salt_len;
  if (argc < 3 || !get_string(env, argv[0], name, sizeof name) || !get_bytes(env, argv[1], &key, &key_len) ||
      !get_bytes(env, argv[2], &salt, &salt_len) || salt_len != SALT_LEN)
    return throw_type(env, "createAead(name, key, salt[4])");
  const EVP_CIPHER *cipher = EVP_get_cipherbyname(name);
  if (cipher == NULL || (EVP_CIPHER_get_flags(cipher) & EVP_CIPH_FLAG_AEAD_CIPHER) == 0) return throw_type(env, "not an AEAD cipher");
  if ((size_t)EVP_CIPHER_get_key_length(cipher) != key_len) return throw_type(env, "wrong key length");
  esp_ctx *c = ctx_new(true, cipher, key, key_len);
  if (c == NULL) return throw_error(env, "out of memory");
  c->icv_len = AEAD_TAG_LEN;
  memcpy(c->salt, salt, SALT_LEN);
  return wrap(env, c);
}

/* createCbcHmac(cipherName, key, digestName, macKey, icvLength) */
static napi_value create_cbc_hmac(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[32], digest[16];
  uint8_t *key, *mac_key;
  size_t key_len, mac_key_len;
  int64_t icv_len;
  if (argc < 5 || !get_string(env, argv[0], name, sizeof name) || !get_bytes(env, argv[1], &key, &key_len) ||
      !get_string(env, argv[2], digest, sizeof digest) || !get_bytes(env, argv[3], &mac_key, &mac_key_len) ||
      !get_i64(env, argv[4], &icv_len))
    return throw_type(env, "createCbcHmac(name, key, digest, macKey, icvLength)");
  const EVP_CIPHER *cipher = EVP_get_cipherbyname(name);
  const EVP_MD *md = EVP_get_digestbyname(digest);
  if (cipher == NULL || EVP_CIPHER_get_mode(cipher) != EVP_CIPH_CBC_MODE || EVP_CIPHER_get_iv_length(cipher) != CBC_IV_LEN)
    return throw_type(env, "not a CBC cipher with 16-byte IVs");
  if ((size_t)EVP_CIPHER_get_key_length(cipher) != key_len) return throw_type(env, "wrong key length");
  if (md == NULL || icv_len <= 0 || icv_len > EVP_MD_get_size(md)) return throw_type(env, "bad digest or ICV length");
  esp_ctx *c = ctx_new(false, cipher, key, key_len);
  if (c == NULL) return throw_error(env, "out of memory");
  c->icv_len = (size_t)icv_len;
  c->mac = HMAC_CTX_new();
  if (c->mac == NULL || HMAC_Init_ex(c->mac, mac_key, (int)mac_key_len, md, NULL) != 1) {
    ctx_free(c);
    return throw_error(env, "HMAC initialisation failed");
  }
  return wrap(env, c);
}

typedef struct {
  esp_ctx *ctx;
  uint8_t *packet;
  size_t length;
  size_t text_at;
  size_t icv_at;
  int64_t esn_high;
  uint8_t *out;
  size_t out_len;
} packet_args;

/* (handle, packet, textAt, icvAt, esnHigh[, out]) with the offsets checked against the packet. */
static bool packet_arguments(napi_env env, napi_callback_info info, bool with_out, packet_args *a) {
  size_t argc = 6;
  napi_value argv[6];
  int64_t text_at, icv_at;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < (with_out ? 6u : 5u)) return throw_type(env, "missing arguments"), false;
  a->ctx = get_ctx(env, argv[0]);
  if (a->ctx == NULL) return false;
  if (!get_bytes(env, argv[1], &a->packet, &a->length) || !get_i64(env, argv[2], &text_at) || !get_i64(env, argv[3], &icv_at) ||
      !get_i64(env, argv[4], &a->esn_high))
    return throw_type(env, "(handle, packet, textAt, icvAt, esnHigh)"), false;
  size_t iv_len = a->ctx->aead ? AEAD_IV_LEN : CBC_IV_LEN;
  if (text_at != (int64_t)(8 + iv_len) || icv_at < text_at || (size_t)icv_at + a->ctx->icv_len != a->length)
    return throw_type(env, "offsets do not fit the packet"), false;
  a->text_at = (size_t)text_at;
  a->icv_at = (size_t)icv_at;
  if (with_out) {
    if (!get_bytes(env, argv[5], &a->out, &a->out_len) || a->out_len != a->icv_at - a->text_at)
      return throw_type(env, "out must be as long as the text"), false;
  }
  return true;
}

static size_t aead_aad(const packet_args *a, uint8_t aad[12]) {
  if (a->esn_high < 0) {
    memcpy(aad, a->packet, 8);
    return 8;
  }
  uint32_t hi = (uint32_t)a->esn_high;
  memcpy(aad, a->packet, 4);
  aad[4] = hi >> 24, aad[5] = hi >> 16, aad[6] = hi >> 8, aad[7] = hi;
  memcpy(aad + 8, a->packet + 4, 4);
  return 12;
}

static bool hmac(const packet_args *a, uint8_t md[EVP_MAX_MD_SIZE]) {
  HMAC_CTX *m = a->ctx->mac;
  unsigned int md_len = 0;
  if (HMAC_Init_ex(m, NULL, 0, NULL, NULL) != 1 || HMAC_Update(m, a->packet, a->icv_at) != 1) return false;
  if (a->esn_high >= 0) {
    uint32_t hi = (uint32_t)a->esn_high;
    uint8_t b[4] = {hi >> 24, hi >> 16, hi >> 8, hi};
    if (HMAC_Update(m, b, 4) != 1) return false;
  }
  return HMAC_Final(m, md, &md_len) == 1 && md_len >= a->ctx->icv_len;
}

/* seal(handle, packet, textAt, icvAt, esnHigh): IV already in the packet; encrypts in place, writes the ICV. */
static napi_value seal(napi_env env, napi_callback_info info) {
  packet_args a;
  if (!packet_arguments(env, info, false, &a)) return NULL;
  esp_ctx *c = a.ctx;
  uint8_t *text = a.packet + a.text_at;
  int n = (int)(a.icv_at - a.text_at), l = 0;
  EVP_CIPHER_CTX *enc = direction(c, true);
  if (enc == NULL) return throw_error(env, "cipher initialisation failed");
  if (c->aead) {
    uint8_t nonce[SALT_LEN + AEAD_IV_LEN], aad[12];
    memcpy(nonce, c->salt, SALT_LEN);
    memcpy(nonce + SALT_LEN, a.packet + 8, AEAD_IV_LEN);
    size_t aad_len = aead_aad(&a, aad);
    if (EVP_EncryptInit_ex(enc, NULL, NULL, NULL, nonce) != 1 || EVP_EncryptUpdate(enc, NULL, &l, aad, (int)aad_len) != 1 ||
        EVP_EncryptUpdate(enc, text, &l, text, n) != 1 || EVP_EncryptFinal_ex(enc, text + l, &l) != 1 ||
        EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, a.packet + a.icv_at) != 1)
      return throw_error(env, "AEAD seal failed");
    return NULL;
  }
  if (n % CBC_IV_LEN != 0) return throw_type(env, "CBC text is not whole blocks");
  uint8_t md[EVP_MAX_MD_SIZE];
  if (EVP_EncryptInit_ex(enc, NULL, NULL, NULL, a.packet + 8) != 1 || EVP_EncryptUpdate(enc, text, &l, text, n) != 1 || l != n ||
      !hmac(&a, md))
    return throw_error(env, "CBC seal failed");
  memcpy(a.packet + a.icv_at, md, c->icv_len);
  return NULL;
}

/* open(handle, packet, textAt, icvAt, esnHigh, out) → true when the ICV verified; out holds the plaintext. */
static napi_value open_packet(napi_env env, napi_callback_info info) {
  packet_args a;
  if (!packet_arguments(env, info, true, &a)) return NULL;
  esp_ctx *c = a.ctx;
  const uint8_t *text = a.packet + a.text_at;
  int n = (int)(a.icv_at - a.text_at), l = 0, l2 = 0;
  bool ok;
  EVP_CIPHER_CTX *dec = direction(c, false);
  if (dec == NULL) return throw_error(env, "cipher initialisation failed");
  if (c->aead) {
    uint8_t nonce[SALT_LEN + AEAD_IV_LEN], aad[12], tag[AEAD_TAG_LEN];
    memcpy(nonce, c->salt, SALT_LEN);
    memcpy(nonce + SALT_LEN, a.packet + 8, AEAD_IV_LEN);
    memcpy(tag, a.packet + a.icv_at, AEAD_TAG_LEN);
    size_t aad_len = aead_aad(&a, aad);
    ok = EVP_DecryptInit_ex(dec, NULL, NULL, NULL, nonce) == 1 && EVP_DecryptUpdate(dec, NULL, &l, aad, (int)aad_len) == 1 &&
         EVP_DecryptUpdate(dec, a.out, &l, text, n) == 1 && EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag) == 1 &&
         EVP_DecryptFinal_ex(dec, a.out + l, &l2) == 1;
  } else {
    uint8_t md[EVP_MAX_MD_SIZE];
    /* encrypt-then-MAC: nothing is decrypted before the ICV verified */
    ok = n % CBC_IV_LEN == 0 && hmac(&a, md) && CRYPTO_memcmp(md, a.packet + a.icv_at, c->icv_len) == 0 &&
         EVP_DecryptInit_ex(dec, NULL, NULL, NULL, a.packet + 8) == 1 && EVP_DecryptUpdate(dec, a.out, &l, text, n) == 1 && l == n;
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"createAead", NULL, create_aead, NULL, NULL, NULL, napi_default, NULL},
      {"createCbcHmac", NULL, create_cbc_hmac, NULL, NULL, NULL, napi_default, NULL},
      {"seal", NULL, seal, NULL, NULL, NULL, napi_default, NULL},
      {"open", NULL, open_packet, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
