"""The probe consumer as an OS process of its own, for crash tests: ``python -m tests.reliability.probe_process READY``.

Settings come from the environment as for ``linli run`` (``REDIS_URL``, ``LINLI_STREAM_PREFIX``,
``LINLI_VAR_DIR`` …); the probe's store is ``$LINLI_VAR_DIR/probe.db`` unless ``PROBE_DATABASE_URL`` is set.
The file ``READY`` is written once the consumer group is subscribed, so the test needs no sleep.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from host.runtime import Runtime
from shared.config import Settings
from tests.support import probe


async def main(ready: Path) -> None:
    runtime = Runtime([probe.module], settings=Settings(), run_tickers=False)
    async with runtime.running():
        ready.write_text(str(os.getpid()))
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
