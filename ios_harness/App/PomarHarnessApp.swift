// The harness app: a thin shell around PomarHarnessKit. Launched by the agent with
// `--pomar-run <run_id>`, it measures that run on a background thread, publishes result.json and
// the sentinel, and exits. Launched by hand, it just says it is waiting.

import PomarHarnessKit
import SwiftUI
import UIKit

@main
struct PomarHarnessApp: App {
    @StateObject private var launcher = HarnessLauncher()

    var body: some Scene {
        WindowGroup {
            VStack(spacing: 12) {
                Text("Pomar harness").font(.headline)
                Text(launcher.status).font(.body.monospaced()).multilineTextAlignment(.center)
            }
            .padding()
            .onAppear { launcher.startIfAsked(arguments: CommandLine.arguments) }
        }
    }
}

extension BatteryState {
    /// UIDevice.BatteryState as the protocol spells it; a state this build does not know is
    /// `unknown`, which the agent treats as "cannot tell".
    init(_ state: UIDevice.BatteryState) {
        switch state {
        case .unplugged: self = .unplugged
        case .charging: self = .charging
        case .full: self = .full
        case .unknown: self = .unknown
        @unknown default: self = .unknown
        }
    }
}

/// The run id after `--pomar-run`, if the agent passed one.
func pomarRunId(in arguments: [String]) -> String? {
    guard let flag = arguments.firstIndex(of: "--pomar-run"), flag + 1 < arguments.count else {
        return nil
    }
    return arguments[flag + 1]
}

@MainActor
final class HarnessLauncher: ObservableObject {
    @Published var status = "waiting for the agent (launch with --pomar-run <id>)"
    private var started = false

    func startIfAsked(arguments: [String]) {
        guard !started, let runId = pomarRunId(in: arguments) else { return }
        started = true
        status = "running \(runId)"
        // A dimming or locking screen would pause the run; the agent keeps the app in front.
        UIApplication.shared.isIdleTimerDisabled = true
        UIDevice.current.isBatteryMonitoringEnabled = true
        let battery = UIDevice.current.batteryLevel
        let batteryLevel: Double? = battery < 0 ? nil : Double(battery)
        let batteryState = BatteryState(UIDevice.current.batteryState)
        guard let documents = FileManager.default.urls(for: .documentDirectory, in: .userDomainMask).first
        else {
            HarnessRunner.printProgress("\(runId) refused: no Documents folder")
            exit(2)
        }
        // Predictions never run on the main thread; a dedicated thread at user-initiated QoS
        // keeps the scheduler from parking the measurement on efficiency cores.
        let thread = Thread {
            let runner = HarnessRunner(
                documents: documents,
                environment: SystemEnvironmentProbe(
                    battery: { batteryLevel }, batteryState: { batteryState }))
            let status = runner.runAndPublish(runId: runId)
            exit(status)
        }
        thread.qualityOfService = .userInitiated
        thread.stackSize = 8 << 20
        thread.start()
    }
}
