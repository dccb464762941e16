import ArgumentParser
import Grading
import Guests
import LabModel
import LabStore
import Results
import Runner
import VMLabSupport

/// `--set NAME=VALUE` and `--sweep NAME=V1,V2,...` as the core takes them: typed values.
enum ParameterArgument {
    static func setting(_ argument: String) throws -> ParameterSetting {
        let (name, value) = try split(argument, option: "--set", form: "NAME=VALUE")
        return ParameterSetting(name, value)
    }

    static func sweep(_ argument: String) throws -> ParameterSweep {
        let (name, list) = try split(argument, option: "--sweep", form: "NAME=VALUE1,VALUE2,...")
        let values = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if list.isEmpty || values.contains(where: \.isEmpty) {
            throw ValidationError("--sweep \(argument): list values separated by commas, none empty")
        }
        return ParameterSweep(name, values)
    }

    private static func split(_ argument: String, option: String, form: String) throws -> (String, String) {
        guard let eq = argument.firstIndex(of: "="), eq != argument.startIndex else {
            throw ValidationError("\(option) \(argument): expected \(form)")
        }
        return (String(argument[..<eq]), String(argument[argument.index(after: eq)...]))
    }
}
