import DeltaCompiler
import DeltaFormat
import DeltaInsight
import Foundation
import OSTreeRepo

/// The `deltagen explain` report the fleet job writes beside the delta-stats for each
/// delta, so a release manager can see why a delta is big without rerunning anything.
public enum ExplainReports {
    /// `<archive>/explain/<from>-<to>.json`, or `<to>.json` for a from-scratch delta.
    public static func path(for name: DeltaName, archive: String) -> String {
        "\(archive)/explain/\(name.description).json"
    }

    /// Explains the delta `name` of `repo`, which holds its commits, and writes the report.
    public static func write(_ name: DeltaName, repo: Repository, archive: String) throws -> String {
        let report: ExplainReport
        do {
            report = try DeltaExplainer.explain(DeltaLocation(repoPath: repo.path, name: name), repo: repo)
        } catch {
            throw FactoryError("explaining \(name): \(plainReason(error))", causedBy: error, fallback: .deltaWork)
        }
        return try store(report, for: name, archive: archive)
    }

    /// The report in `<dir>/explain/<name>.json`, when there is one: a fan-out job's upload,
    /// or an earlier run's in the archive. An upload came over the network as a CI artifact,
    /// so it is decoded and checked against the delta it claims to explain, and `store`
    /// writes it anew rather than copying it.
    public static func stored(in dir: String, for name: DeltaName, totalBytes: UInt64) throws -> ExplainReport? {
        let source = "\(dir)/explain/\(name.description).json"
        guard FileManager.default.fileExists(atPath: source) else { return nil }
        let report: ExplainReport
        do {
            report = try ExplainReport.decode(try readInput(source, limit: 64 << 20))
        } catch {
            throw FactoryError("\(source) is not an explain report: \(plainReason(error))")
        }
        guard report.from == name.from?.hex, report.to == name.to.hex, report.totalSize == totalBytes else {
            throw FactoryError("\(source) does not explain delta \(name) as it is (\(totalBytes) bytes)")
        }
        return report
    }

    /// Writes `report` to `archive/explain/` through a temporary file; returns the path.
    public static func store(_ report: ExplainReport, for name: DeltaName, archive: String) throws -> String {
        let path = path(for: name, archive: archive)
        do {
            try FileManager.default.createDirectory(atPath: "\(archive)/explain", withIntermediateDirectories: true)
            try AtomicFile.write([UInt8](try report.jsonData()), to: path)
        } catch {
            throw FactoryError("writing \(path): \(plainReason(error))", causedBy: error, fallback: .storage)
        }
        return path
    }
}
