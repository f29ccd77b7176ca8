"""Launching, killing and polling the app: DVT ProcessControl and DeviceInfo."""

from __future__ import annotations

from agent.devices.ios.pmd3.connection import Pmd3Service


class Pmd3Processes(Pmd3Service):
    """:class:`~agent.devices.ios.services.processes.AppProcesses` over the session's DVT."""

    def launch(self, bundle_id: str, arguments: list[str]) -> int:
        async def go() -> int:
            process_control, _ = await self.connection.dvt()
            pid: int = await process_control.launch(
                bundle_id, arguments=arguments, kill_existing=True
            )
            return pid

        return self.connection.call(go, f"launching {bundle_id}", 60)

    def kill(self, pid: int) -> None:
        async def go() -> None:
            process_control, _ = await self.connection.dvt()
            await process_control.kill(pid)

        self.connection.call(go, f"killing {pid}", 30)

    def is_running(self, pid: int) -> bool:
        async def go() -> bool:
            _, device_info = await self.connection.dvt()
            return bool(await device_info.is_running_pid(pid))

        return self.connection.call(go, f"polling {pid}", 30)
