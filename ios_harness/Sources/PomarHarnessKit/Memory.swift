// Process memory as jetsam sees it: phys_footprint from task_info(TASK_VM_INFO), the number
// Xcode's memory gauge shows (not RSS), and os_proc_available_memory() for the headroom left
// before the per-app limit. There is no kernel-kept footprint peak here, so a background timer
// samples during load and every prediction samples once more.

import Foundation

#if canImport(Darwin)
import Darwin
#endif
#if os(iOS)
import os
#endif

public enum ProcessMemory {
    /// The current phys_footprint in bytes, or nil if the kernel does not report it.
    public static func physFootprint() -> Int64? {
        #if canImport(Darwin)
        var info = task_vm_info_data_t()
        let integerSize = MemoryLayout<integer_t>.size
        // TASK_VM_INFO_COUNT and TASK_VM_INFO_REV1_COUNT are macros Swift cannot import.
        var count = mach_msg_type_number_t(MemoryLayout<task_vm_info_data_t>.size / integerSize)
        guard let rev2Offset = MemoryLayout<task_vm_info_data_t>.offset(of: \task_vm_info_data_t.min_address)
        else { return nil }
        let rev1Count = mach_msg_type_number_t(rev2Offset / integerSize)
        let status = withUnsafeMutablePointer(to: &info) { pointer in
            pointer.withMemoryRebound(to: integer_t.self, capacity: Int(count)) { raw in
                task_info(mach_task_self_, task_flavor_t(TASK_VM_INFO), raw, &count)
            }
        }
        // Older kernels fill fewer fields; phys_footprint is only there from revision 1.
        guard status == KERN_SUCCESS, count >= rev1Count else { return nil }
        return Int64(info.phys_footprint)
        #else
        return nil
        #endif
    }

    /// Bytes the app may still allocate before the OS kills it; nil where the API does not
    /// exist (macOS, simulator hosts) or reports 0 (not an app).
    public static func availableMemory() -> Int64? {
        #if os(iOS)
        let available = os_proc_available_memory()
        return available > 0 ? Int64(available) : nil
        #else
        return nil
        #endif
    }
}

/// Where the memory numbers come from; the tests inject a fake.
public protocol MemoryProbe {
    func footprint() -> Int64?
    func available() -> Int64?
}

public struct SystemMemoryProbe: MemoryProbe {
    public init() {}
    public func footprint() -> Int64? { ProcessMemory.physFootprint() }
    public func available() -> Int64? { ProcessMemory.availableMemory() }
}

/// Samples footprint and headroom, keeping the peak footprint and the lowest headroom seen.
/// Thread-safe: the polling timer and the measuring thread both sample.
public final class MemoryTracker: @unchecked Sendable {
    private let probe: MemoryProbe
    private let lock = NSLock()
    private var peak: Int64 = 0
    private var minAvailable: Int64?
    private var timer: DispatchSourceTimer?

    public init(probe: MemoryProbe = SystemMemoryProbe()) {
        self.probe = probe
    }

    /// Sample now; returns the footprint (0 when unknown, which the result then says).
    @discardableResult
    public func sample() -> Int64 {
        let footprint = probe.footprint() ?? 0
        let available = probe.available()
        lock.lock()
        defer { lock.unlock() }
        peak = max(peak, footprint)
        if let available {
            minAvailable = min(minAvailable ?? available, available)
        }
        return footprint
    }

    public var peakBytes: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return peak
    }

    public var minAvailableBytes: Int64? {
        lock.lock()
        defer { lock.unlock() }
        return minAvailable
    }

    /// Sample every `intervalMs` on a background queue until `stopPolling()`; catches the
    /// transient peaks of compile and load that phase samples miss.
    public func startPolling(intervalMs: Int = 5) {
        stopPolling()
        let source = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        source.schedule(deadline: .now(), repeating: .milliseconds(intervalMs))
        source.setEventHandler { [weak self] in _ = self?.sample() }
        source.resume()
        lock.lock()
        timer = source
        lock.unlock()
    }

    public func stopPolling() {
        lock.lock()
        let source = timer
        timer = nil
        lock.unlock()
        source?.cancel()
    }
}
