"""An iPhone as an ``agent.device.Device``: facts from the session, readiness from a device
check, runs through the harness protocol, and quarantine after repeated infrastructure failures."""

from __future__ import annotations

from agent.device import Outcome, RunOutcome, RunRequest
from agent.devices.ios.config import IosConfig
from agent.devices.ios.harness_run import HarnessRunner
from agent.devices.ios.quarantine import QuarantinePolicy
from agent.devices.ios.readiness import check_session
from agent.devices.ios.transport import DeviceSession
from pomar_core.errors import (
    AppNotInstalled,
    DeviceError,
    DeviceNotReady,
    TransportUnavailable,
)
from pomar_core.wire import ComputeUnit, DeviceInfo, DeviceKind

# What a problem found by the device check means for a caller that only wants an exception.
_CHECK_ERRORS: dict[str, type[DeviceError]] = {
    "connection": TransportUnavailable,
    "tunnel": TransportUnavailable,
    "app": AppNotInstalled,
}


class IosDevice:
    """One iPhone behind a :class:`DeviceSession` (real or fake)."""

    def __init__(
        self,
        session: DeviceSession,
        config: IosConfig,
        *,
        pools: tuple[str, ...] = (),
        agent_host: str | None = None,
        quarantine: QuarantinePolicy | None = None,
    ) -> None:
        self.session = session
        self.config = config
        self.runner = HarnessRunner(session, config)
        self.quarantine = quarantine or QuarantinePolicy(threshold=config.quarantine_after)
        facts = session.facts()
        self._info = DeviceInfo(
            udid=facts.udid,
            kind=DeviceKind.IOS,
            product_type=facts.product_type,
            marketing_name=facts.marketing_name,
            chip=facts.chip,
            ram_bytes=facts.ram_bytes,
            os_version=facts.ios_version,
            pools=(facts.product_type, *pools),
            compute_units=(ComputeUnit.CPU, ComputeUnit.GPU, ComputeUnit.ANE, ComputeUnit.ALL),
            agent_host=agent_host,
        )

    @property
    def info(self) -> DeviceInfo:
        return self._info

    def check_ready(self) -> None:
        """Run the device check (installing the app if configured); raise what is missing.
        A passing check lifts a quarantine."""
        check = check_session(self.session, self.config, install=self.config.app_path is not None)
        self.quarantine.record_check(check.ok)
        if check.ok:
            return
        first = check.problems[0]
        error = _CHECK_ERRORS.get(first.what, DeviceNotReady)
        detail = "; ".join(p.detail for p in check.problems)
        raise error(
            f"{self._info.marketing_name} is not ready: {detail}",
            hint=first.fix,
            device_udid=self._info.udid,
        )

    def run(self, request: RunRequest) -> RunOutcome:
        if self.quarantine.quarantined:
            raise DeviceNotReady(
                f"{self._info.marketing_name} is quarantined",
                hint=self.quarantine.describe(),
                device_udid=self._info.udid,
                run_id=request.run_id,
            )
        try:
            outcome = self.runner.run(request)
        except DeviceError as exc:
            self.quarantine.record_infrastructure_failure(exc.one_line())
            raise
        if outcome.outcome is Outcome.CANCELLED:
            pass  # stopped on request: says nothing about the device's health
        elif outcome.outcome is Outcome.TIMEOUT:
            # A hung app is as likely a wedged device as a slow model (DESIGN: "some timeouts").
            self.quarantine.record_infrastructure_failure(outcome.error or "timeout")
        else:
            self.quarantine.record_success()
        return outcome

    def close(self) -> None:
        self.session.close()
