import VMLabSupport
extension Step {
    /// Every step kind lab.yaml accepts, in the order the reference and the schema list
    /// them. Registering a new kind is one line here.
    public static let kinds: [any (StepKind & Equatable).Type] = [
        ExecStep.self,
        CrashStep.self,
        StartStep.self,
        ShutdownStep.self,
        WaitForAgentStep.self,
        SnapshotStep.self,
        RevertStep.self,
        FreezeStep.self,
        ThawStep.self,
        DiskSnapshotStep.self,
        RestoreDiskStep.self,
        DropHostCacheStep.self,
        SetCPUStep.self,
        SetMemoryStep.self,
        LinkStep.self,
        CopyInStep.self,
        CopyOutStep.self,
        CopyWorkspaceStep.self,
        SleepStep.self,
        ParallelStep.self,
        MeasureStep.self,
    ]
}
