"""A private Redis Cluster for tests: three masters and a replica of each on loopback ports.

Started with ``redis-server --cluster-enabled yes`` and joined with ``redis-cli --cluster create``;
no persistence (the replicas are what survives a master's death). ``cluster-node-timeout`` is short
(1 s) so a failover takes seconds, not the default 15 s.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis
from redis.cluster import key_slot

from tests.support.redis_server import RedisServer, free_port

NODE_TIMEOUT_MS = 1000


class RedisCluster:
    def __init__(self, workdir: Path, masters: int = 3, replicas: int = 1) -> None:
        self.nodes = [
            RedisServer(
                workdir / f"node-{i}",
                port=free_port(),
                extra_args=[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    str(NODE_TIMEOUT_MS),
                    "--cluster-port",  # the bus; by default port + 10000, past 65535 for high free ports
                    str(free_port()),
                ],
            )
            for i in range(masters * (1 + replicas))
        ]
        self.replicas = replicas

    @property
    def url(self) -> str:
        """The node clients are given (any node will do; they learn the rest)."""
        return self.nodes[0].url.removesuffix("/0")

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{n.port}" for n in self.nodes),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_ok()

    def wait_ok(self, timeout: float = 30) -> None:
        """Until every running node says ``cluster_state:ok`` and every replica's link is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._ok(n) for n in self.nodes if n.proc is not None):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not become ok")

    @staticmethod
    def _ok(node: RedisServer) -> bool:
        try:
            client = redis.Redis(port=node.port, socket_timeout=1)
            if client.cluster("info").get("cluster_state") != "ok":
                return False
            info = client.info("replication")
            return info["role"] == "master" or info.get("master_link_status") == "up"
        except redis.RedisError:
            return False

    def client(self) -> redis.RedisCluster:
        return redis.RedisCluster(host="127.0.0.1", port=self.nodes[0].port)

    def master_of(self, key: str) -> RedisServer:
        """The node serving ``key``'s slot as master now."""
        slot = key_slot(key.encode())
        for node in self.nodes:
            if node.proc is None:
                continue
            try:
                client = redis.Redis(port=node.port, socket_timeout=1)
                for start, end, master, *_ in client.cluster("slots"):
                    if start <= slot <= end:
                        port = int(master[1])
                        return next(n for n in self.nodes if n.port == port)
            except redis.RedisError:
                continue
        raise RuntimeError(f"no master serves slot {slot}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
