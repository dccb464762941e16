import Foundation

/// The one JSON form vmlab writes and reads for its own files and its `--format json`
/// output: ISO 8601 dates, sorted keys, pretty printed, slashes left as they are. One form
/// keeps files diffable and output byte-identical across runs and commands.
public enum JSONCoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
