"""One iPhone over pymobiledevice3 as a ``DeviceSession``: every service, each in its own module
(``status``, ``apps``, ``files``, ``processes``, ``sampling``, ``reports``), over one
:class:`~agent.devices.ios.pmd3.connection.Pmd3Connection`. Synchronous outside, asyncio
inside, on the session's own event loop."""

from __future__ import annotations

from agent.devices.ios.config import IosConfig
from agent.devices.ios.pmd3.apps import Pmd3Apps
from agent.devices.ios.pmd3.connection import Pmd3Connection
from agent.devices.ios.pmd3.files import Pmd3Files
from agent.devices.ios.pmd3.processes import Pmd3Processes
from agent.devices.ios.pmd3.reports import Pmd3Reports
from agent.devices.ios.pmd3.sampling import Pmd3Sampling
from agent.devices.ios.pmd3.status import Pmd3Status


class Pmd3Session(Pmd3Status, Pmd3Apps, Pmd3Files, Pmd3Processes, Pmd3Sampling, Pmd3Reports):
    """A ``DeviceSession`` on a real iPhone. Open with :meth:`open`; close when done."""

    @classmethod
    def open(cls, udid: str, config: IosConfig) -> Pmd3Session:
        return cls(Pmd3Connection.open(udid, config))

    def close(self) -> None:
        self.connection.close()
