import DeltaCompiler
import Foundation

/// Shows generation progress on stderr: a bar redrawn in place on a terminal, plain lines
/// (phases and every 10% of encoding) in CI logs. Events come from the pipeline's threads;
/// the state they share is in one Monitor.
final class ProgressPrinter: Sendable {
    private struct State {
        var phase = ""
        var lastDecile = -1
        var drewLine = false
    }
    private let terminal = isatty(STDERR_FILENO) != 0
    private let state = Monitor(State())

    func handle(_ event: ProgressEvent) {
        state.withLock { s in
            switch event {
            case .phase(let name):
                s.phase = name
                show(name, &s)
            case .encoded(let done, let total):
                guard total > 0 else { return }
                if terminal {
                    let width = 30, filled = width * done / total
                    show("encoding \(done)/\(total) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))]", &s)
                } else if done * 10 / total != s.lastDecile {
                    s.lastDecile = done * 10 / total
                    show("encoding \(done)/\(total)", &s)
                }
            case .partCompressed(let index, let done, let total):
                show("compressed part \(index) (\(done)/\(total) parts done)", &s)
            case .notice(let text):
                show(text, &s)
            }
        }
    }

    /// Ends the in-place line so later output starts on a fresh one.
    func finish() {
        state.withLock { s in
            if terminal && s.drewLine { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
    }

    private func show(_ text: String, _ s: inout State) {
        if terminal {
            FileHandle.standardError.write(Data("\r\u{1B}[Kdeltagen: \(text)".utf8))
            s.drewLine = true
        } else {
            FileHandle.standardError.write(Data("deltagen: \(text)\n".utf8))
        }
    }
}
