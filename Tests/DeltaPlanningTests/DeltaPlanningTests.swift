import XCTest
@testable import DeltaPlanning

final class DeltaPlanningTests: XCTestCase {
    func testModuleLoads() {
        XCTAssertNotNil(DeltaPlanning.self)
    }
}
