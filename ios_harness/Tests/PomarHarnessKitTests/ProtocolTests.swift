import XCTest

@testable import PomarHarnessKit

final class ProtocolTests: XCTestCase {
    func testGoldenJobDecodesWithEveryField() throws {
        let job = try JSONDecoder().decode(HarnessJob.self, from: Fixtures.data("job.json"))
        XCTAssertEqual(job.protocolVersion, 1)
        XCTAssertEqual(job.runId, "run-0001")
        XCTAssertEqual(job.computeUnit, .ane)
        XCTAssertEqual(job.warmup, 3)
        XCTAssertEqual(job.iterations, 10)
        XCTAssertEqual(job.minDurationS, 0.5)
        XCTAssertEqual(job.inputs, [HarnessTensor(name: "x", file: "inputs/x.npy", dtype: .float32, shape: [2, 3])])
        XCTAssertEqual(job.outputNames, ["y"])
        XCTAssertTrue(job.collectComputePlan)
        XCTAssertEqual(job.maxDurationS, 30)
    }

    func testJobWithoutDefaultedFieldsGetsThePydanticDefaults() throws {
        let json = """
            {"run_id": "r", "model_sha256": "00", "model_path": "models/00/model.mlmodelc",
             "compute_unit": "cpu", "warmup": 0, "iterations": 1, "min_duration_s": 0,
             "inputs": [{"name": "x", "file": "inputs/x.npy", "dtype": "int32", "shape": [1]}],
             "output_names": []}
            """
        let job = try JSONDecoder().decode(HarnessJob.self, from: Data(json.utf8))
        XCTAssertEqual(job.protocolVersion, 1)
        XCTAssertFalse(job.lowPrecisionAccumulationOnGpu)
        XCTAssertTrue(job.collectComputePlan)
        XCTAssertFalse(job.inputs[0].isImage)
        XCTAssertNil(job.maxDurationS)
    }

    func testNonPositiveMaxDurationIsRefusedLikePydantic() throws {
        var json = String(decoding: try Fixtures.data("job.json"), as: UTF8.self)
        json = json.replacingOccurrences(of: "\"max_duration_s\": 30.0", with: "\"max_duration_s\": 0")
        XCTAssertThrowsError(try JSONDecoder().decode(HarnessJob.self, from: Data(json.utf8)))
    }

    func testResultWithoutTheFieldsAddedWithinProtocol1StillDecodes() throws {
        let data = try Fixtures.data("result_ok.json")
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        object.removeValue(forKey: "warnings")
        var environment = try XCTUnwrap(object["environment"] as? [String: Any])
        environment.removeValue(forKey: "battery_state")
        object["environment"] = environment
        var timings = try XCTUnwrap(object["timings"] as? [String: Any])
        timings.removeValue(forKey: "compute_plan_ns")
        object["timings"] = timings
        let old = try JSONSerialization.data(withJSONObject: object)
        let result = try JSONDecoder().decode(HarnessResult.self, from: old)
        XCTAssertEqual(result.warnings, [])
        XCTAssertNil(result.environment.batteryState)
        XCTAssertNil(result.timings?.computePlanNs)
    }

    func testUnknownComputeUnitIsRefusedNotMappedToAll() throws {
        var json = String(decoding: try Fixtures.data("job.json"), as: UTF8.self)
        json = json.replacingOccurrences(of: "\"ane\"", with: "\"npu\"")
        XCTAssertThrowsError(try JSONDecoder().decode(HarnessJob.self, from: Data(json.utf8)))
    }

    func testOtherProtocolVersionIsRefused() throws {
        var json = String(decoding: try Fixtures.data("job.json"), as: UTF8.self)
        json = json.replacingOccurrences(of: "\"protocol\": 1", with: "\"protocol\": 2")
        XCTAssertThrowsError(try JSONDecoder().decode(HarnessJob.self, from: Data(json.utf8)))
    }

    func testGoldenResultsDecodeAndReencodeToTheSameJSON() throws {
        for name in ["result_ok.json", "result_failed.json", "result_no_plan.json"] {
            let data = try Fixtures.data(name)
            let result = try JSONDecoder().decode(HarnessResult.self, from: data)
            let again = try JSONEncoder().encode(result)
            let original = try JSONSerialization.jsonObject(with: data) as? NSDictionary
            let reencoded = try JSONSerialization.jsonObject(with: again) as? NSDictionary
            XCTAssertEqual(original, reencoded, name)
        }
    }

    func testGoldenOkResultValues() throws {
        let result = try JSONDecoder().decode(HarnessResult.self, from: Fixtures.data("result_ok.json"))
        XCTAssertEqual(result.status, .ok)
        XCTAssertNil(result.timings?.compileNs)
        XCTAssertEqual(result.timings?.predictionNs.count, 10)
        XCTAssertEqual(result.computePlan.map(\.preferred), [.cpu, .ane, .unknown])
        XCTAssertEqual(result.environment.thermalStateByPhase["predictions"], .fair)
        XCTAssertEqual(result.environment.batteryState, .charging)
        XCTAssertEqual(result.timings?.computePlanNs, 230_500_000)
        XCTAssertEqual(result.warnings, [])
    }

    func testGoldenResultWithoutAPlanSaysWhy() throws {
        let result = try JSONDecoder().decode(HarnessResult.self, from: Fixtures.data("result_no_plan.json"))
        XCTAssertEqual(result.computePlan, [])
        XCTAssertNil(result.timings?.computePlanNs)
        XCTAssertEqual(result.warnings, ["compute plan: needs iOS 17.4, this is 16.7.8"])
        XCTAssertEqual(result.environment.batteryState, .unplugged)
    }

    func testGoldenFailedResultValues() throws {
        let result = try JSONDecoder().decode(HarnessResult.self, from: Fixtures.data("result_failed.json"))
        XCTAssertEqual(result.status, .error)
        XCTAssertEqual(result.errorPhase, .load)
        XCTAssertNil(result.timings)
        XCTAssertNil(result.environment.batteryLevel)
    }
}
