//! Parquet copies of the sweep tables (`--format parquet`), for pandas, polars and
//! DuckDB users. Built only with the `parquet` cargo feature, so the default build stays
//! small; without it, asking for Parquet is an error that says how to get it.
//!
//! The Parquet files are made from the finished CSVs, so they always hold the same
//! values: integer columns as INT64, the swept settings and seeds as UTF-8 text (seeds
//! are unsigned 64-bit), everything else as DOUBLE; empty cells are nulls.

use anyhow::Result;

use crate::output_set::OutputSet;

/// Write `sweep_runs.parquet` and `sweep_series.parquet` beside their CSVs in `dir`.
#[cfg(not(feature = "parquet"))]
pub fn write_parquet(_set: &OutputSet) -> Result<()> {
    anyhow::bail!(
        "--format parquet: this datadao was built without Parquet support; accepted: --format csv, or rebuild with `cargo build --release --features parquet`"
    )
}

/// Write `sweep_runs.parquet` and `sweep_series.parquet` beside their CSVs in `dir`.
#[cfg(feature = "parquet")]
pub fn write_parquet(set: &OutputSet) -> Result<()> {
    use datadao_scenario::outputs::{RUNS_FILE, RUNS_PARQUET, SERIES_FILE, SERIES_PARQUET};
    for (name, parquet) in [(RUNS_FILE, RUNS_PARQUET), (SERIES_FILE, SERIES_PARQUET)] {
        let csv = std::fs::read_to_string(set.path(name))?;
        parquet_impl::write(&csv, &set.path(parquet))?;
    }
    Ok(())
}

#[cfg(feature = "parquet")]
mod parquet_impl {
    use std::path::Path;
    use std::sync::Arc;

    use anyhow::Result;
    use parquet::basic::{ConvertedType, Repetition, Type as Physical};
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::Type;

    const INTEGER: &[&str] = &[
        "point",
        "run",
        "step",
        "jobs_refused",
        "orgs_out_of_xdai_step",
        "final_proposals",
        "final_proposals_passed",
    ];

    enum Kind {
        Int,
        Text,
        Double,
    }

    fn kind(name: &str) -> Kind {
        if INTEGER.contains(&name) {
            Kind::Int
        } else if name == "seed" || name.contains('.') {
            Kind::Text
        } else {
            Kind::Double
        }
    }

    pub fn write(csv: &str, path: &Path) -> Result<()> {
        // Read as CSV, not split on commas: a list value of a swept setting is one
        // quoted cell.
        let mut reader = ::csv::ReaderBuilder::new().from_reader(csv.as_bytes());
        let header_record = reader.headers()?.clone();
        let header: Vec<&str> = header_record.iter().collect();
        let records: Vec<::csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
        let rows: Vec<Vec<&str>> = records.iter().map(|r| r.iter().collect()).collect();
        let fields = header
            .iter()
            .map(|name| {
                let builder = match kind(name) {
                    Kind::Int => Type::primitive_type_builder(name, Physical::INT64),
                    Kind::Text => Type::primitive_type_builder(name, Physical::BYTE_ARRAY)
                        .with_converted_type(ConvertedType::UTF8),
                    Kind::Double => Type::primitive_type_builder(name, Physical::DOUBLE),
                };
                builder
                    .with_repetition(Repetition::OPTIONAL)
                    .build()
                    .map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let schema = Arc::new(
            Type::group_type_builder("schema")
                .with_fields(fields)
                .build()?,
        );
        let props = Arc::new(WriterProperties::builder().build());
        let file = std::fs::File::create(path)?;
        let mut writer = SerializedFileWriter::new(file, schema, props)?;
        let mut group = writer.next_row_group()?;
        let mut c = 0;
        while let Some(mut col) = group.next_column()? {
            let name = header[c];
            let cells: Vec<&str> = rows
                .iter()
                .map(|r| r.get(c).copied().unwrap_or(""))
                .collect();
            let defs: Vec<i16> = cells.iter().map(|v| i16::from(!v.is_empty())).collect();
            let present = cells.iter().filter(|v| !v.is_empty());
            match kind(name) {
                Kind::Int => {
                    let values: Vec<i64> = present.map(|v| v.parse().unwrap_or(0)).collect();
                    col.typed::<Int64Type>()
                        .write_batch(&values, Some(&defs), None)?;
                }
                Kind::Text => {
                    let values: Vec<ByteArray> = present.map(|v| ByteArray::from(*v)).collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&values, Some(&defs), None)?;
                }
                Kind::Double => {
                    let values: Vec<f64> = present.map(|v| v.parse().unwrap_or(f64::NAN)).collect();
                    col.typed::<DoubleType>()
                        .write_batch(&values, Some(&defs), None)?;
                }
            }
            col.close()?;
            c += 1;
        }
        group.close()?;
        writer.close()?;
        Ok(())
    }
}
