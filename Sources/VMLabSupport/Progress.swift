/// A callback for progress lines; libraries never print.
public typealias ProgressReporter = @Sendable (String) -> Void
