{
  # Shoal's TUN/TAP addon (src/ports/tap-linux.ts loads build/Release/tuntap.node).
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
    }
  ]
}
