import Foundation

#if FUZZING
/// The callback libFuzzer's own `main` looks for.
@_cdecl("LLVMFuzzerTestOneInput")
func libFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt { fuzzOneInput(data, size) }

/// libFuzzer's driver, linked in by `-sanitize=fuzzer`.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

/// SwiftPM links an executable's entry point under the name `<Module>_main`. In the fuzzing
/// build that entry hands the command line to libFuzzer's driver instead of Swift code.
@_cdecl("DeltaFuzz_main")
func fuzzerEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, { data, size in fuzzOneInput(data, size) })
}
#else
/// Without the fuzzer, the same entry point runs over files given as arguments: a quick way
/// to replay a seed corpus or a crash reproducer.
@main
struct FuzzMain {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("error: cannot read \(path)\n".utf8))
                exit(1)
            }
            [UInt8](data).withUnsafeBufferPointer { buffer in
                if let base = buffer.baseAddress { _ = fuzzOneInput(base, buffer.count) }
            }
        }
        print("checked \(CommandLine.arguments.count - 1) inputs")
    }
}
#endif
