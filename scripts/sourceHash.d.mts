export declare const contractsDir: URL
export declare const artifactsFile: URL
export declare const guardFile: URL
export declare const compilerSettings: Readonly<{
  optimizer: { enabled: boolean; runs: number }
  evmVersion: string
}>
export declare const inputPackages: readonly string[]
export declare function packageVersion(name: string): string
export declare function solidityFiles(): string[]
export declare function computeSourceHash(): string
