import ArgumentParser
import Project
import Store

extension LaMiniRecipe.Data: ExpressibleByArgument {}
extension LaMiniRecipe.Teacher: ExpressibleByArgument {}

enum Recipe: String, ExpressibleByArgument, CaseIterable {
    case lamini
}

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a project folder with herd.toml and herd.db (the store); --recipe lamini writes LaMini-LM's whole recipe.",
        discussion: """
        Without --recipe, herd.toml holds the commented defaults of every command. With --recipe lamini \
        it holds LaMini-LM's recipe for `herd build`: the seed sources, the topic dump, the seven subsets \
        at the paper's sizes times --scale (2.58M pairs at 1.0), 20 or 10 instructions per prompt, the \
        teacher, the novelty threshold, the embedding and audit samples (50K per subset at 1.0) and the \
        export settings, every key commented.
        """)

    @Argument(help: "The project folder to create (may exist, but must not hold herd.toml or herd.db).")
    var directory: String

    @Option(help: "Write a whole recipe for `herd build`: lamini.")
    var recipe: Recipe?

    @Option(help: "The recipe's size as a share of the paper's (0 < scale <= 1; 0.001 is 2,580 pairs).")
    var scale: Double = 1.0

    @Option(help: "Seed data: public (Self-Instruct and Alpaca by URL, P3, FLAN and the Wikipedia dump from data/) or bundled (the repository's fixtures/, offline).")
    var data: LaMiniRecipe.Data = .public

    @Option(help: "The teacher: openai (gpt-3.5-turbo, as the paper) or local (the built-in SmolLM2-135M-Instruct, offline).")
    var teacher: LaMiniRecipe.Teacher = .openai

    @Option(help: "The bundled samples' folder, for --data bundled.")
    var fixtures = "fixtures"

    @Option(help: "The recipe's seed (prompt draws, samples, export shuffle).")
    var seed: UInt64 = 1

    func validate() throws {
        guard scale > 0, scale <= 1 else { throw ValidationError("--scale must be in (0, 1]") }
        if recipe == nil, scale != 1.0 || data != .public || teacher != .openai {
            throw ValidationError("--scale, --data and --teacher shape a recipe: add --recipe lamini")
        }
    }

    func run() throws {
        let created = try reportingErrors {
            recipe == nil ? try Project.initialize(at: directory)
                : try LaMiniRecipe.initialize(at: directory, scale: scale, data: data, teacher: teacher, seed: seed, fixtures: fixtures)
        }
        print("created \(created.store) and \(created.config)")
        if recipe != nil { print("next: herd build --config \(created.config) (or --plan first to see what it costs)") }
    }
}

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", abstract: "Print the store's SQL schema (what schemas/store.sql holds).",
        shouldDisplay: false)

    func run() throws {
        print(Migrations.all.isEmpty ? "" : Migrations.schemaSQL, terminator: "")
    }
}
