// Validates glTF files with the Khronos glTF validator; prints one JSON report per file.
//   node validate.js FILE.glb [FILE.vrma ...]
// Each report: {"file", "errors", "warnings", "infos", "messages": [{code, message, severity, pointer}]}.
"use strict";
const fs = require("fs");
const validator = require("gltf-validator");

async function main(files) {
  const reports = [];
  for (const file of files) {
    const report = await validator.validateBytes(new Uint8Array(fs.readFileSync(file)), {
      maxIssues: 100,
    });
    reports.push({
      file,
      errors: report.issues.numErrors,
      warnings: report.issues.numWarnings,
      infos: report.issues.numInfos,
      messages: report.issues.messages,
    });
  }
  process.stdout.write(JSON.stringify(reports));
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`${error}\n`);
  process.exit(1);
});
