import DeltaCompiler
import Foundation

/// Shows generation progress on stderr: a bar redrawn in place on a terminal, plain lines
/// (phases and every 10% of encoding) in CI logs.
final class ProgressPrinter: @unchecked Sendable {
    private let terminal = isatty(STDERR_FILENO) != 0
    private let lock = NSLock()
    private var phase = ""
    private var lastDecile = -1
    private var drewLine = false

    func handle(_ event: ProgressEvent) {
        lock.withLock {
            switch event {
            case .phase(let name):
                phase = name
                show(name)
            case .encoded(let done, let total):
                guard total > 0 else { return }
                if terminal {
                    let width = 30, filled = width * done / total
                    show("encoding \(done)/\(total) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))]")
                } else if done * 10 / total != lastDecile {
                    lastDecile = done * 10 / total
                    show("encoding \(done)/\(total)")
                }
            case .partCompressed(let index, let done, let total):
                show("compressed part \(index) (\(done)/\(total) parts done)")
            case .notice(let text):
                show(text)
            }
        }
    }

    /// Ends the in-place line so later output starts on a fresh one.
    func finish() {
        lock.withLock {
            if terminal && drewLine { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
    }

    private func show(_ text: String) {
        if terminal {
            FileHandle.standardError.write(Data("\r\u{1B}[Kdeltagen: \(text)".utf8))
            drewLine = true
        } else {
            FileHandle.standardError.write(Data("deltagen: \(text)\n".utf8))
        }
    }
}
