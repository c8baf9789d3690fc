import CLinuxShim
import Foundation
import Glibc

/// How many CPUs this process may use: the fewest of the host's online CPUs, the affinity
/// mask (taskset, a container's cpuset) and the cgroup's CPU quota (`cpu.max`, a
/// container's `--cpus`), rounded up. A CI runner limited to 2 CPUs on a 64-core host then
/// runs 2 encoders and compressors, not 64.
public enum CPUBudget {
    /// The CPUs available to this process now.
    public static var current: Int {
        available(online: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), affinity: affinityCount(),
                  quotas: cgroupQuotas())
    }

    /// The budget from its inputs: `quotas` are cgroup `cpu.max` contents ("max 100000" or
    /// "QUOTA PERIOD"), one per level of the cgroup tree; any level can limit.
    public static func available(online: Int, affinity: Int?, quotas: [String]) -> Int {
        var budget = max(1, online)
        if let affinity, affinity > 0 { budget = min(budget, affinity) }
        for text in quotas {
            let fields = text.split(whereSeparator: \.isWhitespace)
            guard fields.count == 2, let quota = Double(fields[0]), let period = Double(fields[1]),
                  quota > 0, period > 0 else { continue }  // "max": no limit at this level
            budget = min(budget, max(1, Int((quota / period).rounded(.up))))
        }
        return budget
    }

    /// CPUs in the affinity mask, or nil if it cannot be read.
    static func affinityCount() -> Int? {
        let count = deltagen_affinity_count()
        return count > 0 ? Int(count) : nil
    }

    /// `cpu.max` of this process's cgroup and of each cgroup above it (cgroup v2).
    static func cgroupQuotas(root: String = "/sys/fs/cgroup", selfCgroup: String = "/proc/self/cgroup") -> [String] {
        cgroupValues(file: "cpu.max", root: root, selfCgroup: selfCgroup)
    }

    /// The contents of `file` in this process's cgroup and in each cgroup above it.
    static func cgroupValues(file: String, root: String, selfCgroup: String) -> [String] {
        guard let membership = try? String(contentsOfFile: selfCgroup, encoding: .utf8),
              let line = membership.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return [] }
        var path = String(line.dropFirst(3))
        var quotas: [String] = []
        while true {
            if let text = try? String(contentsOfFile: root + (path == "/" ? "" : path) + "/" + file, encoding: .utf8) {
                quotas.append(text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            if path == "/" || path.isEmpty { break }
            path = path.asPath.deletingLastComponent
            if path.isEmpty { path = "/" }
        }
        return quotas
    }
}
