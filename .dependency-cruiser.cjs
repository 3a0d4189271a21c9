// Baton's layer rules, checked by `npm test` (scripts/test.sh). The layers run
// one way so a change in a wire-facing module can never reach the rules or the
// storage beneath it; docs/ARCHITECTURE.md draws them. Generated code (gen/) is
// open to every layer; it is the contract, not a layer.
/** @type {import('dependency-cruiser').IConfiguration} */
const layer = (name) => `^server/src/${name}/`;
module.exports = {
  forbidden: [
    {
      name: "core-is-pure",
      comment: "core holds the protocol's rules: it may import only generated types, lib/ and itself.",
      severity: "error",
      from: { path: layer("core") },
      to: { path: "^server/src/(store|engine|api|http|bus|cli|observe)/" },
    },
    {
      name: "store-below-engine",
      comment: "store speaks SQL and classifies its own errors; it never reaches up.",
      severity: "error",
      from: { path: layer("store") },
      to: { path: "^server/src/(engine|api|http|bus|cli)/" },
    },
    {
      name: "bus-below-engine",
      comment: "bus carries messages; it may import only lib/ and core/.",
      severity: "error",
      from: { path: layer("bus") },
      to: { path: "^server/src/(store|engine|api|http|cli|observe)/" },
    },
    {
      name: "engine-below-wire",
      comment: "engine works on rows and domain values; protobuf conversion and transports live above it.",
      severity: "error",
      from: { path: layer("engine") },
      to: { path: "^server/src/(api|http|cli)/" },
    },
    {
      name: "api-not-store",
      comment:
        "api reaches storage only through engine, so every rule runs on every path. One exception: " +
        "store/storage-errors.ts, store's own classification of driver errors (pure, no SQL), which the " +
        "error mapping reads to answer an unreachable database UNAVAILABLE.",
      severity: "error",
      from: { path: layer("api") },
      to: { path: "^server/src/(store|http|cli)/", pathNot: "^server/src/store/storage-errors[.]ts$" },
    },
    {
      name: "http-not-cli",
      comment:
        "http (transports, discovery, health, metrics) sits on top: it may import api and the layers " +
        "below (health pings the database, metrics counts tasks), never the command line.",
      severity: "error",
      from: { path: layer("http") },
      to: { path: "^server/src/cli/" },
    },
    {
      name: "lib-is-leaf",
      comment: "lib holds small generic helpers with no knowledge of Baton.",
      severity: "error",
      from: { path: layer("lib") },
      to: { path: "^server/src/(core|store|engine|api|http|bus|cli|observe)/" },
    },
    {
      name: "observe-is-leaf",
      comment: "observe (request log, call context) is shared by api and http, so it imports neither.",
      severity: "error",
      from: { path: layer("observe") },
      to: { path: "^server/src/(core|store|engine|api|http|bus|cli)/" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: { path: "^server/src/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules|^gen/" },
    exclude: { path: "\\.test\\.ts$" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
