import ArgumentParser
import Project

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a project folder with herd.toml (commented defaults) and herd.db (the store).")

    @Argument(help: "The project folder to create (may exist, but must not hold herd.toml or herd.db).")
    var directory: String

    func run() throws {
        let created = try reportingErrors { try Project.initialize(at: directory) }
        print("created \(created.store) and \(created.config)")
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

import Store
