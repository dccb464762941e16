import Foundation
import VMLabSupport
import Yams

/// `{name, unit, expression}`: arithmetic over measures taken earlier in the same run and
/// the run's parameters (`swap_a + swap_b`): an aggregate gets its own column and plot.
public struct ExpressionMeasure: MeasureSource, Equatable {
    public static let selector: String? = "expression"
    public static let form = "`{name, unit, expression}`"
    public static let summary = "arithmetic (`+ - * /`, `min`, `max`, `abs`) over measures taken earlier in the run "
        + "and the run's numeric parameters"
    public static let defaultUnit: String? = nil
    public static let schema: JSONValue = Schema.object(required: ["name", "unit", "expression"], [
        "name": Schema.ref("measureName"),
        "unit": ["type": "string"],
        "expression": ["type": "string", "minLength": 1,
                       "description": "Arithmetic over earlier measures of the run and its parameters: + - * / min max abs."],
    ], description: "Derived from measures taken earlier in the same run.")

    public var expression: Formula

    public static func read(_ m: MappingReader, context: StepContext, earlier: [String]) -> ExpressionMeasure? {
        let text = context.requiredText(m, "expression", references: false)
        guard !text.isEmpty else { return nil }
        let expression: Formula
        do { expression = try Formula(text) } catch {
            m.fail("expression", "'\(text)': \(error)")
            return nil
        }
        for id in expression.identifiers.sorted() where !earlier.contains(id) && !context.parameterNames.contains(id) {
            let measures = earlier.joined(separator: ", ")
            m.fail("expression", "'\(id)' is neither a measure taken earlier in this experiment "
                   + "(\(measures.isEmpty ? "there is none" : measures)) nor a parameter")
        }
        return ExpressionMeasure(expression: expression)
    }

    public func substituted(_ values: [String: String]) throws -> ExpressionMeasure { self }

    /// Measures shadow nothing: a name is a measure of this run when the run took it, else
    /// a numeric parameter of the run.
    public func measure(_ name: String, in lab: any LabRuntime) async throws -> (value: Double, output: String?) {
        var variables: [String: Double] = [:]
        for (parameter, text) in lab.parameters { variables[parameter] = Double(text) }
        for (measure, value) in try lab.measuredSoFar() { variables[measure] = value }
        do {
            return (try expression.evaluate(variables), nil)
        } catch {
            throw VMLabError(.failed, "measure \(name) = \(expression.text): \(error)")
        }
    }

    public var vms: [String] { [] }
}

extension MeasureSource where Self == ExpressionMeasure {
    public static func expression(_ expression: Formula) -> ExpressionMeasure { ExpressionMeasure(expression: expression) }
}
