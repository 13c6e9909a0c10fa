#!/usr/bin/env python3
"""Packs a folder as a one-layer image in the docker-archive format (what `docker save` writes and `ctr images
import` reads), without any daemon: for the test cluster's pause image, which cannot be pulled here.

usage: image-archive.py <name:tag> <root folder> <out.tar> [--entrypoint PATH]
"""
import argparse
import hashlib
import io
import json
import os
import tarfile


def layer_of(root: str) -> bytes:
    """The folder as a tar layer owned by root, with fixed times: the same folder gives the same digest."""
    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        return info

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(os.listdir(root)):
            tar.add(os.path.join(root, name), arcname=name, filter=normalise)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("root")
    parser.add_argument("out")
    parser.add_argument("--entrypoint")
    args = parser.parse_args()

    layer = layer_of(args.root)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    if args.entrypoint:
        config["config"]["Entrypoint"] = [args.entrypoint]
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id.removeprefix("sha256:") + "/layer.tar"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [args.reference], "Layers": [layer_name]}]).encode()
    with tarfile.open(args.out, "w") as archive:
        for name, content in ((config_name, config_bytes), (layer_name, layer), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))


if __name__ == "__main__":
    main()
