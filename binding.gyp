{
  "targets": [
    {
      "target_name": "roam_native",
      "sources": [
        "native/roam_native.c",
        "native/napi_util.c",
        "native/tun.c",
        "native/netfilter.c",
        "native/dline.c",
        "native/dline_api.c",
        "native/dline_napi.c",
        "native/tunnel.c",
        "native/tunnel_api.c",
        "native/tunnel_napi.c",
        "native/tunnel_reorder.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "libraries": ["-lpthread"]
    }
  ]
}
