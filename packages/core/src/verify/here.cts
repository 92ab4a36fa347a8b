// The directory this file was loaded from, for both builds: a .cts file compiles to CommonJS in
// the ESM build too, so `__filename` exists in each, and the export verifier finds its bundle worker next to
// it without `import.meta` (which the CommonJS build cannot compile).
const HERE: string = __filename;
export = HERE;
