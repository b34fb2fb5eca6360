{
  # Shoal's native addons: the TUN/TAP binding (src/ports/tap-linux.ts), ESP crypto and the admin socket's peer credentials.
  # Built by node-gyp at install time; plain C against node_api.h and uv.h.
  "targets": [
    {
      "target_name": "tuntap",
      "sources": [
        "native/tuntap/module.c",
        "native/tuntap/open.c",
        "native/tuntap/batch.c",
        "native/tuntap/poll.c",
        "native/tuntap/uring.c"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"]
    },
    {
      # ESP transforms on long-lived OpenSSL contexts (src/apps/ipsec/esp/ciphers-native.ts).
      # Links against the OpenSSL inside the node binary, whose headers ship with Node.
      "target_name": "espcrypto",
      "sources": ["native/espcrypto/espcrypto.c"],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=0x10100000L"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-deprecated-declarations", "-Werror=implicit-function-declaration"]
    },
    {
      # getsockopt(SO_PEERCRED) for the admin socket's peer check (src/ports/peer-cred-linux.ts).
      "target_name": "peercred",
      "sources": ["native/peercred/peercred.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"]
    }
  ]
}
