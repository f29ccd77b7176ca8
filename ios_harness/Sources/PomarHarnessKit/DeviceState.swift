// What the device was doing while we measured: thermal state per phase, Low Power Mode,
// battery, OS and model identifier. Thermal throttling and Low Power Mode change latency by
// large factors, so the agent refuses results taken hot or in Low Power Mode.

import Foundation

#if canImport(Darwin)
import Darwin
#endif

public protocol EnvironmentProbe {
    func thermalState() -> ThermalState
    func lowPowerMode() -> Bool
    /// 0...1, or nil when unknown.
    func batteryLevel() -> Double?
    /// Plugged in or not; nil when unknown (a Mac, or monitoring off).
    func batteryState() -> BatteryState?
    var osVersion: String { get }
    var deviceModel: String { get }
    var appVersion: String { get }
}

extension ThermalState {
    /// The severity order, for keeping the worst state seen in a phase.
    var severity: Int {
        switch self {
        case .nominal: return 0
        case .fair: return 1
        case .serious: return 2
        case .critical: return 3
        }
    }

    public init(_ state: ProcessInfo.ThermalState) {
        switch state {
        case .nominal: self = .nominal
        case .fair: self = .fair
        case .serious: self = .serious
        case .critical: self = .critical
        @unknown default:
            // A state this build does not know is treated as the worst, so the agent refuses
            // the numbers instead of trusting them.
            self = .critical
        }
    }
}

public struct SystemEnvironmentProbe: EnvironmentProbe {
    private let battery: () -> Double?
    private let charging: () -> BatteryState?

    /// `battery` and `batteryState` come from the app (UIDevice is UIKit and main-thread only).
    public init(
        battery: @escaping () -> Double? = { nil },
        batteryState: @escaping () -> BatteryState? = { nil }
    ) {
        self.battery = battery
        self.charging = batteryState
    }

    public func thermalState() -> ThermalState {
        ThermalState(ProcessInfo.processInfo.thermalState)
    }

    public func lowPowerMode() -> Bool {
        ProcessInfo.processInfo.isLowPowerModeEnabled
    }

    public func batteryLevel() -> Double? {
        battery()
    }

    public func batteryState() -> BatteryState? {
        charging()
    }

    public var osVersion: String {
        let version = ProcessInfo.processInfo.operatingSystemVersion
        return "\(version.majorVersion).\(version.minorVersion).\(version.patchVersion)"
    }

    public var deviceModel: String {
        #if os(iOS)
        return SystemEnvironmentProbe.sysctlString("hw.machine") ?? "unknown"  // iPhone15,2
        #else
        return SystemEnvironmentProbe.sysctlString("hw.model") ?? "unknown"  // Mac14,6
        #endif
    }

    public var appVersion: String {
        let info = Bundle.main.infoDictionary ?? [:]
        let short = info["CFBundleShortVersionString"] as? String ?? "0"
        let build = info["CFBundleVersion"] as? String ?? "0"
        return "\(short) (\(build))"
    }

    static func sysctlString(_ name: String) -> String? {
        #if canImport(Darwin)
        var size = 0
        guard sysctlbyname(name, nil, &size, nil, 0) == 0, size > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: size)
        guard sysctlbyname(name, &buffer, &size, nil, 0) == 0 else { return nil }
        return String(cString: buffer)
        #else
        return nil
        #endif
    }
}

/// The worst thermal state seen in each phase.
public struct ThermalLog {
    public private(set) var byPhase: [String: ThermalState] = [:]

    public init() {}

    public mutating func record(_ phase: String, _ state: ThermalState) {
        if let seen = byPhase[phase], seen.severity >= state.severity { return }
        byPhase[phase] = state
    }
}
