import VMLabCLI

await VMLab.runMain()
