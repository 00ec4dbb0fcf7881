import Foundation
import FastJSON
import Generate
import Sampling
import Store
import XCTest

final class PromptTests: XCTestCase {
    /// The example-guided prompt of the paper, byte for byte.
    func testExampleGuidedPromptText() {
        let p = LaMiniPrompts.instructionPrompt(examples: [
            "What are some things you can do to de-stress?",
            "How can individuals and organizations reduce unconscious bias?",
            "Write a program to compute the sum of integers from k to n.",
        ], count: 20)
        XCTAssertEqual(p, """
            <example>What are some things you can do to de-stress?</example>
            <example>How can individuals and organizations reduce unconscious bias?</example>
            <example>Write a program to compute the sum of integers from k to n.</example>

            Generate 20 diverse examples that are similar to the provided examples.
            You do not need to provide a response to the generated examples.
            Each example must include an instruction.
            Each generated instruction can be either an imperative sentence or a question.
            Each example must start with the label "<example>" and end with the label "</example>".
            """)
    }

    func testTopicGuidedPromptText() {
        let p = LaMiniPrompts.instructionPrompt(examples: ["a", "b", "c"], count: 20, topics: ["Design bureaus", "Conidae", "Infantry"])
        XCTAssertTrue(p.contains("\nGenerate 20 diverse examples that are similar to the provided examples with the topics \"Design bureaus, Conidae, Infantry\".\n"), p)
        XCTAssertEqual(LaMiniPrompts.exampleText(instruction: "Translate to French", input: "Good morning"), "Translate to French:Good morning")
        XCTAssertEqual(LaMiniPrompts.exampleText(instruction: "Name a color.", input: ""), "Name a color.")
        XCTAssertEqual(LaMiniPrompts.responseSystemMessage,
                       "You are a helpful assistant, but you must respond the provided instructions as concise as possible.")
    }

    /// Prompt k's draws, from the Python port in the doc comments of PromptPlanner and DistinctDraw.
    func testPlannerIsReproduciblePerPrompt() {
        let examples = (0..<175).map { "e\($0)" }
        let topics = (0..<3500).map { "t\($0)" }
        let p0 = PromptPlanner.prompt(0, seed: 42, examples: examples, count: 20, topics: topics)
        let p7 = PromptPlanner.prompt(7, seed: 42, examples: examples, count: 20, topics: topics)
        XCTAssertEqual(p0.exampleIndices, [93, 117, 127])
        XCTAssertEqual(p0.topicIndices, [2696, 1881, 623])
        XCTAssertEqual(p7.exampleIndices, [10, 91, 23])
        XCTAssertEqual(p7.topicIndices, [55, 2106, 2057])
        XCTAssertEqual(PromptPlanner.prompt(7, seed: 42, examples: examples, count: 20, topics: topics), p7)
        var g = SplitMix64(seed: 42)
        _ = g.next()
        XCTAssertEqual(PromptPlanner.seed(forPrompt: 1, seed: 42), g.next())
        XCTAssertNil(PromptPlanner.prompt(0, seed: 1, examples: examples, count: 10, topics: nil).topicIndices)
    }
}

final class ReplyParserTests: XCTestCase {
    func testExamplesAreTrimmedAndNumbersRemoved() {
        let reply = """
        Here are the examples:
        1. <example>What is the capital of France?</example>
        <example>  2) Describe a sunset.  </example>
        <example>3. List three fruits.</example><example>- Explain gravity.</example>
        <example>   </example>
        <example>12: How do bees make honey?</example>
        <example>1984 was written by whom?</example>
        """
        let p = ReplyParser.parse(reply, finishReason: "stop")
        XCTAssertEqual(p.instructions, ["What is the capital of France?", "Describe a sunset.", "List three fruits.", "Explain gravity.",
                                        "How do bees make honey?", "1984 was written by whom?"])
        XCTAssertEqual(p.empty, 1)
        XCTAssertEqual(p.truncated, 0)
    }

    func testCutReplyDropsOnlyTheUnterminatedLastExample() {
        let reply = "<example>One.</example>\n<example>Two</example>\n<example>Three is cut o"
        XCTAssertEqual(ReplyParser.parse(reply, finishReason: "length"), ParsedReply(instructions: ["One.", "Two"], empty: 0, truncated: 1))
        // A teacher that stopped on its own only forgot the last tag.
        XCTAssertEqual(ReplyParser.parse(reply, finishReason: "stop").instructions, ["One.", "Two", "Three is cut o"])
        // A forgotten closing tag in the middle ends at the next example.
        XCTAssertEqual(ReplyParser.parse("<example>A\n<example>B</example>", finishReason: "stop").instructions, ["A", "B"])
        XCTAssertEqual(ReplyParser.parse("no tags at all", finishReason: "stop").instructions, [])
    }
}

final class AlpacaFiltersTests: XCTestCase {
    func testReasonsInAlpacasOrder() {
        XCTAssertNil(AlpacaFilters.reason("Describe the water cycle in simple terms."))
        XCTAssertEqual(AlpacaFilters.reason("Name three colors."), .length)                      // 3 words
        XCTAssertEqual(AlpacaFilters.reason(String(repeating: "word ", count: 151)), .length)
        XCTAssertEqual(AlpacaFilters.reason("Draw a picture of a cat please."), .blacklist)
        XCTAssertEqual(AlpacaFilters.reason("Describe the IMAGES shown in class."), .blacklist)   // case-insensitive
        XCTAssertNil(AlpacaFilters.reason("Describe the imagery in this poem."))                  // whole words only
        XCTAssertEqual(AlpacaFilters.reason("Tell me how to go to the station."), .blacklist)    // "go to"
        XCTAssertEqual(AlpacaFilters.reason("Write a program that sorts numbers."), .writeAProgram)
        XCTAssertEqual(AlpacaFilters.reason("\"Explain\" what a noun is, briefly."), .punctuation)
        XCTAssertEqual(AlpacaFilters.reason("¿Cómo se dice hello en inglés?"), .nonASCII)
        XCTAssertNil(AlpacaFilters.reason("Explain what a file_system is used for."))            // \\b: file_system is one word
    }
}

final class InstructionPlanTests: XCTestCase {
    func testPlansFromTheStoresSeedsAndTopics() throws {
        let dir = NSTemporaryDirectory() + "herd-generate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.create(at: "\(dir)/herd.db")
        var options = InstructionGenerationOptions(pool: .selfInstruct, topicGuided: false, prompts: 2, seed: 1)
        XCTAssertThrowsError(try InstructionPlan(store: store, options: options)) {
            XCTAssertTrue("\($0)".contains("has 0 instructions"), "\($0)")
        }
        let w = try SourceWriter(store: store, uri: "seeds", sha256: String(repeating: "a", count: 64), bytes: 0, format: "test")
        for (i, (ins, inp)) in [("Name a fruit.", ""), ("Translate", "Bonjour"), ("Sort these", "3 1 2"), ("Name a fruit.", "")].enumerated() {
            try w.add(NewInstruction(subset: "self_instruct_seed", member: nil, line: nil, record: Int64(i + 1), byteOffset: 0, task: nil,
                                     instruction: ins, input: inp, output: nil, meta: nil, normHash: Int64(i % 3)),
                      duplicateOf: i == 3 ? 1 : nil)
        }
        _ = try w.commit(filtered: 0, format: "test")
        let planned = try InstructionPlan(store: store, options: options)
        let plan = (0..<options.prompts).map(planned.prompt)
        XCTAssertEqual(plan.count, 2)
        // Three examples in the pool (the duplicate left out): every prompt shows all three.
        XCTAssertEqual(Set(plan[0].exampleIndices), [0, 1, 2])
        XCTAssertTrue(plan[0].text.contains("<example>Translate:Bonjour</example>"), plan[0].text)
        options.topicGuided = true
        XCTAssertThrowsError(try InstructionPlan(store: store, options: options)) {
            XCTAssertTrue("\($0)".contains("run `herd topics mine` first"), "\($0)")
        }
    }
}

final class BatchRoundTripTests: XCTestCase {
    /// Queue → batch input → (a provider's) output and errors → import; importing again and
    /// re-planning change nothing; only the failed request is written out again.
    func testBatchFilesRoundTrip() throws {
        let dir = NSTemporaryDirectory() + "herd-batch-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.create(at: "\(dir)/herd.db")
        let w = try SourceWriter(store: store, uri: "seeds", sha256: String(repeating: "b", count: 64), bytes: 0, format: "test")
        for (i, t) in ["Name a fruit.", "Describe the moon.", "Sort three numbers.", "Tell a joke."].enumerated() {
            try w.add(NewInstruction(subset: "self_instruct_seed", member: nil, line: nil, record: Int64(i + 1), byteOffset: 0, task: nil,
                                     instruction: t, input: "", output: nil, meta: nil, normHash: Int64(i)), duplicateOf: nil)
        }
        _ = try w.commit(filtered: 0, format: "test")
        let plan = try InstructionPlan(store: store, options: InstructionGenerationOptions(pool: .selfInstruct, topicGuided: false,
                                                                                          prompts: 3, seed: 9))
        let settings = TeacherSettings()
        let enqueued = try TeacherRequestQueue.enqueueInstructions(plan, settings: settings, store: store)
        let queued = (added: enqueued.added, open: try enqueued.open.map { try XCTUnwrap(store.teacherRequest(key: $0)) })
        XCTAssertEqual(queued.added, 3)
        XCTAssertEqual(queued.open.count, 3)
        XCTAssertEqual(queued.open[0].key, ChatRequest.key(endpoint: settings.endpoint, body: queued.open[0].body))
        XCTAssertTrue(queued.open[0].body.hasPrefix(#"{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"<example>"#))
        XCTAssertTrue(queued.open[0].body.hasSuffix(#""temperature":1.0,"top_p":1.0,"max_tokens":2048}"#), queued.open[0].body)
        let batch = "\(dir)/batch.jsonl"
        try BatchFiles.writeInput(queued.open, to: batch)
        let lines = try String(contentsOfFile: batch, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[0].hasPrefix(#"{"custom_id":"\#(queued.open[0].key)","method":"POST","url":"/v1/chat/completions","body":{"model""#))

        // The provider's files: two answers (one cut at the token limit), one 429.
        func answer(_ key: String, _ content: String, _ finish: String) -> String {
            let body = JSONWriter.string(.object([("choices", .array([.object([
                ("index", .number("0")), ("message", .object([("role", .string("assistant")), ("content", .string(content))])),
                ("finish_reason", .string(finish))])])),
                ("usage", .object([("prompt_tokens", .number("100")), ("completion_tokens", .number("50"))]))]))
            return #"{"id":"r","custom_id":"\#(key)","response":{"status_code":200,"request_id":"q","body":\#(body)},"error":null}"#
        }
        let keys = queued.open.map(\.key)
        let output = [
            answer(keys[0], "1. <example>Name a green vegetable.</example>\n2. <example>Write a program to sort a list.</example>", "stop"),
            answer(keys[1], "<example>Name a green vegetable.</example><example>List four seasons of the year.</example><example>Explain ti", "length"),
        ].joined(separator: "\n") + "\n"
        let errors = #"{"id":"r3","custom_id":"\#(keys[2])","response":{"status_code":429,"request_id":"z","body":{"error":{"message":"Rate limit reached"}}},"error":null}"# + "\n"
        try output.write(toFile: "\(dir)/out.jsonl", atomically: true, encoding: .utf8)
        try errors.write(toFile: "\(dir)/err.jsonl", atomically: true, encoding: .utf8)
        let report = try BatchFiles.importResults(["\(dir)/out.jsonl", "\(dir)/err.jsonl"], store: store, alpacaFilters: true)
        XCTAssertEqual(report.answered, 2)
        XCTAssertEqual(report.failed, 1)
        XCTAssertEqual(report.generation.instructions, 3)      // "Name a green vegetable." twice, "List four seasons of the year."
        XCTAssertEqual(report.generation.duplicates, 1)
        XCTAssertEqual(report.generation.truncatedExamples, 1)
        XCTAssertEqual(report.generation.filtered, [.writeAProgram: 1])
        XCTAssertEqual(try store.instructionCount(subset: "self_instruct_without_topic"), 3)
        XCTAssertEqual(try store.teacherRequestCounts(), ["pending": 0, "in_flight": 0, "done": 2, "failed": 1])
        XCTAssertEqual(try store.teacherRequest(key: keys[2])?.error, "Rate limit reached")
        XCTAssertEqual(try store.teacherRequest(key: keys[1])?.finishReason, "length")

        // Again: nothing changes; re-planning the same prompts queues nothing and leaves only the failed one open.
        XCTAssertTrue(try BatchFiles.importResults(["\(dir)/out.jsonl", "\(dir)/err.jsonl"], store: store, alpacaFilters: true).alreadyImported)
        let again = try TeacherRequestQueue.enqueueInstructions(plan, settings: settings, store: store)
        XCTAssertEqual(again.added, 0)
        XCTAssertEqual(again.open, [keys[2]])

        // A line for a request the store never made names itself.
        try #"{"custom_id":"nope","response":null}"#.write(toFile: "\(dir)/bad.jsonl", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BatchFiles.importResults(["\(dir)/bad.jsonl"], store: store, alpacaFilters: false)) {
            XCTAssertEqual("\($0)", "\(dir)/bad.jsonl:1: custom_id nope is not a request of this store")
        }
        XCTAssertEqual(try store.instructionCount(subset: "self_instruct_without_topic"), 3)
    }
}
