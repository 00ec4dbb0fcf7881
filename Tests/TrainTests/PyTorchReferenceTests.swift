import FastJSON
import Foundation
import Llama
@testable import Train
import XCTest

/// Two full optimizer steps (2 micro-batches each, packed documents, clipping in step 1) of a
/// small fixed model against the numbers PyTorch computed once in float64
/// (scripts/make_train_reference.py → train_reference.json and the two GGUF files).
final class PyTorchReferenceTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

    func numbers(_ v: JSONValue?) -> [Double] {
        guard case let .array(items)? = v else { return [] }
        return items.compactMap { if case let .number(n) = $0 { return Double(n) }; return nil }
    }

    func number(_ v: JSONValue?) -> Double {
        if case let .number(n)? = v { return Double(n)! }
        XCTFail("not a number: \(String(describing: v))")
        return .nan
    }

    func testTwoStepsMatchPyTorch() throws {
        let reference = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/train_reference.json"))))
        var parameters = try StudentParameters(gguf: try GGUFFile(path: Self.directory + "/train_reference_init.gguf"))
        let shape = parameters.shape
        XCTAssertEqual(shape, StudentShape(vocabulary: 64, dimension: 32, layers: 2, heads: 4, kvHeads: 2, feedForward: 64, contextLength: 64,
                                           ropeBase: 10000, normEpsilon: 1e-5, tiedEmbeddings: true))
        let hyper = reference["hyper"]!
        let optimizer = AdamW(beta1: Float(number(hyper["beta1"])), beta2: Float(number(hyper["beta2"])), epsilon: Float(number(hyper["eps"])),
                              weightDecay: Float(number(hyper["weight_decay"])), maxGradientNorm: Float(number(hyper["max_norm"])))
        let model = StudentModel(shape: shape)
        var state = AdamW.State(count: parameters.layout.total)
        guard case let .array(steps)? = reference["steps"] else { return XCTFail("no steps") }
        var firstStepBatches: [TrainBatch] = []
        for (s, step) in steps.enumerated() {
            guard case let .array(micro)? = step["micro_batches"] else { return XCTFail("no micro-batches") }
            let batches = micro.map { m in
                TrainBatch(tokens: numbers(m["tok"]).map { Int32($0) }, positions: numbers(m["pos"]).map { Int32($0) },
                           documentStart: numbers(m["doc_start"]).map { Int32($0) }, targets: numbers(m["target"]).map { Int32($0) })
            }
            if s == 0 { firstStepBatches = batches }
            let targets = batches.reduce(0) { $0 + $1.targetCount }
            XCTAssertEqual(Double(targets), number(step["target_rows"]))
            var gradients = [Float](repeating: 0, count: parameters.layout.total)
            var loss = 0.0
            for b in batches {
                loss += try gradients.withUnsafeMutableBufferPointer {
                    try model.loss(parameters: parameters.values, batch: b, scale: 1 / Float(targets), gradients: $0.baseAddress!)
                }
            }
            loss /= Double(targets)
            XCTAssertEqual(loss, number(step["loss"]), accuracy: 2e-6, "step \(s + 1) loss")
            // Each tensor's gradient before clipping: its norm and first values.
            for e in parameters.layout.entries {
                let g = Array(gradients[e.offset..<(e.offset + e.count)])
                let expected = step["grads"]![e.name]!
                let norm = number(expected["norm"])
                XCTAssertEqual(AdamW.norm(g), norm, accuracy: 1e-5 * norm, "step \(s + 1) ‖∇\(e.name)‖")
                for (a, b) in zip(g.prefix(8), numbers(expected["first"])) {
                    XCTAssertEqual(Double(a), b, accuracy: 1e-6 + 1e-5 * norm, "step \(s + 1) ∇\(e.name)")
                }
            }
            let rate = number(step["lr"])
            let gradientNorm = optimizer.update(parameters: &parameters.values, gradients: &gradients, state: &state, layout: parameters.layout, rate: rate)
            XCTAssertEqual(gradientNorm, number(step["grad_norm"]), accuracy: 1e-6, "step \(s + 1) gradient norm")
            // Step 1 clips (the coefficient is below 1), step 2 does not.
            XCTAssertEqual(Double(optimizer.maxGradientNorm) / (gradientNorm + 1e-6) < 1, s == 0)
        }
        // Every parameter after both steps, against PyTorch's (float64, rounded to float32).
        let after = try StudentParameters(gguf: try GGUFFile(path: Self.directory + "/train_reference_after.gguf"))
        var worst: Float = 0
        for (a, b) in zip(parameters.values, after.values) { worst = max(worst, abs(a - b)) }
        XCTAssertLessThan(worst, 2e-6, "largest difference of a parameter after two steps")
        print("largest parameter difference from PyTorch after two steps: \(worst)")
        for e in parameters.layout.entries {
            let sum = parameters.values[e.offset..<(e.offset + e.count)].reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, number(reference["after"]![e.name]!["sum"]), accuracy: 1e-4, e.name)
        }
        // The loss of step 1's batches with the updated weights.
        var lossAfter = 0.0
        for b in firstStepBatches { lossAfter += try model.loss(parameters: parameters.values, batch: b, gradients: nil) }
        XCTAssertEqual(lossAfter / Double(firstStepBatches.reduce(0) { $0 + $1.targetCount }), number(reference["loss_after"]), accuracy: 2e-6)
        // The schedule's values.
        let sched = reference["schedule"]!
        let schedule = LearningRateSchedule(peak: number(sched["lr"]), warmupSteps: Int(number(sched["warmup"])),
                                            totalSteps: Int(number(sched["total"])), minimumRatio: number(sched["min_ratio"]))
        for (s, value) in numbers(sched["values"]).enumerated() { XCTAssertEqual(schedule.rate(step: s), value, accuracy: 1e-15) }
    }
}
