//! Turns an Acumatica `swagger.json` into a bundled schema file in our compact format
//! (`docs/CONTRACTS.md` §1).
//!
//! Usage: `acumatica-schema-import <swagger.json> <out.json>` (`-` writes to stdout).

use std::process::ExitCode;

use acumatica_client::metadata::EndpointSchema;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: acumatica-schema-import <swagger.json> <out.json|->");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(input) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {input}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let schema = match EndpointSchema::from_swagger(&bytes) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {input}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let text = schema.to_bundled_json();
    let written = if output == "-" {
        print!("{text}");
        Ok(())
    } else {
        std::fs::write(output, text)
    };
    if let Err(e) = written {
        eprintln!("error: cannot write {output}: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "{}/{}: {} entities ({} top-level)",
        schema.endpoint,
        schema.version,
        schema.entities.len(),
        schema.top_level().count()
    );
    ExitCode::SUCCESS
}
