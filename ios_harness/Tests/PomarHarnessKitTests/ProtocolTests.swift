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
        for name in ["result_ok.json", "result_failed.json"] {
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
    }

    func testGoldenFailedResultValues() throws {
        let result = try JSONDecoder().decode(HarnessResult.self, from: Fixtures.data("result_failed.json"))
        XCTAssertEqual(result.status, .error)
        XCTAssertEqual(result.errorPhase, .load)
        XCTAssertNil(result.timings)
        XCTAssertNil(result.environment.batteryLevel)
    }
}
