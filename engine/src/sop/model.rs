//! The SOP document as administrators write it (YAML, `schema_version: 1`).
//!
//! These types are the stable, versioned file format. `sop-definitions/sop.schema.json` is
//! generated from them (see `schema_json`), so every doc comment here becomes editor help.
//! Keys are English and ASCII; the values (labels, activity texts) stay in Bahasa Indonesia
//! as the office writes them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::{Budget, BudgetClock};

/// The only format version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// One Standard Operating Procedure (SOP AP, PermenPAN-RB 35/2012): the identity block and the
/// flowchart table, plus what the engine needs to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SopDocument {
    /// Version of this file format. Must be 1.
    #[schemars(range(min = 1, max = 1))]
    pub schema_version: u32,
    /// Stable ASCII id of the SOP, e.g. `ktp-el`. Cases and the API refer to it.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]*$"))]
    pub id: String,
    /// Bagian Identitas: the header block of the official SOP layout.
    pub header: Header,
    /// Pelaksana: who executes the activities, in the order of the table's columns.
    #[schemars(length(min = 1))]
    pub actors: Vec<Actor>,
    /// Kelengkapan: the documents steps need or check, each with when it is required.
    #[serde(default)]
    pub documents: Vec<DocumentDef>,
    /// Adapters that service steps call by id (bound to a printer, webhook... per deployment).
    #[serde(default)]
    pub adapters: Vec<AdapterDef>,
    /// Queues that hand out human numbers (e.g. `A-007`), per queue per day.
    #[serde(default)]
    pub queues: Vec<QueueDef>,
    /// JSON Schema (draft 2020-12) of the data a case carries. Guards may read its
    /// top-level properties by name.
    pub case_schema: serde_json::Map<String, serde_json::Value>,
    /// Budget of the whole procedure (e.g. `12 menit`, `14 hari kerja`), counted like a
    /// step's budget on working time; a case past it is overdue as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Budget")]
    pub total_budget: Option<Budget>,
    /// Id of the first step.
    pub start: String,
    /// The activities (Uraian Kegiatan) and how they connect.
    #[schemars(length(min = 1))]
    pub steps: Vec<Step>,
}

/// Bagian Identitas (PermenPAN-RB 35/2012, Lampiran II.C.2.a).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Issuing government, e.g. `PEMERINTAH KAB. PASAMAN BARAT`.
    pub government: String,
    /// Issuing unit (Dinas / Seksi), e.g. `DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL`.
    pub unit: String,
    /// Sub-unit (Seksi / Bidang), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// Nomor SOP, as numbered by the unit's tata naskah dinas.
    pub number: String,
    /// Judul SOP (Nama SOP).
    pub title: String,
    /// Tanggal Pembuatan / Revisi / Efektif.
    pub dates: Dates,
    /// Disahkan oleh: the approving official.
    pub approver: Approver,
    /// Dasar Hukum: the laws and regulations the procedure rests on.
    #[serde(default)]
    pub legal_basis: Vec<String>,
    /// Kualifikasi Pelaksana: competence required of the executors.
    #[serde(default)]
    pub executor_qualifications: Vec<String>,
    /// Keterkaitan: related SOPs.
    #[serde(default)]
    pub related_sops: Vec<String>,
    /// Peralatan / Perlengkapan: tools and equipment.
    #[serde(default)]
    pub equipment: Vec<String>,
    /// Peringatan: what happens if the SOP is not followed.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Pencatatan dan Pendataan: records kept.
    #[serde(default)]
    pub records: Vec<String>,
}

/// Dates as written on the SOP (free text: offices write `Mei 2021`). Empty fields stay empty.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dates {
    /// Tanggal Pembuatan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made: Option<String>,
    /// Tanggal Revisi.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revised: Option<String>,
    /// Tanggal Efektif.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective: Option<String>,
}

impl Dates {
    /// Tanggal Efektif as a date, when it is written as one (see [`super::dates::parse_date`]).
    pub fn effective_date(&self) -> Option<time::Date> {
        self.effective.as_deref().and_then(super::dates::parse_date)
    }
}

/// The official who signs the SOP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approver {
    /// Jabatan, e.g. `Kepala Dinas`.
    pub title: String,
    /// Nama, as printed.
    pub name: String,
    /// NIP (civil-servant number), as printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nip: Option<String>,
}

/// A Pelaksana column of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// Stable ASCII id; also the API role of the staff who act as this actor.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub id: String,
    /// Display name as the office writes it, e.g. `Petugas nomor antrian`.
    pub name: String,
    /// Roles that record this actor's steps. Defaults to the actor's own id; an applicant's
    /// steps are recorded at the counter by the staff role that receives them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recorded_by: Vec<String>,
}

/// A document (Kelengkapan) a step may need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentDef {
    /// Stable ASCII id; guards read it as `documents.<id>`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub id: String,
    /// Display name, e.g. `Fotokopi KK`.
    pub name: String,
    /// rhai expression over the case data: when this document is required. Always required
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_when: Option<String>,
}

/// Kinds of adapter a deployment can bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdapterKind {
    /// Prints a card print job (IPP printer, or a folder of PDFs).
    CardPrinter,
    /// Sends a consultation and waits for its answer (signed webhook + callback).
    Consultation,
}

/// An adapter the SOP's service steps call by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdapterDef {
    /// Stable ASCII id, bound to an implementation in the deployment config.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub id: String,
    /// What kind of adapter it is.
    pub kind: AdapterKind,
    /// Display name.
    pub name: String,
}

/// A numbered queue (nomor antrian).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueDef {
    /// Stable ASCII id; `{queue}` in the API.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub id: String,
    /// Letter(s) before the number, e.g. `A` gives `A-007`.
    #[schemars(regex(pattern = r"^[A-Z]{1,3}$"))]
    pub prefix: String,
    /// Display name.
    pub name: String,
    /// Roles that may call the next number.
    #[schemars(length(min = 1))]
    pub called_by: Vec<String>,
}

/// What a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Work done by a person (the actor), recorded through the API.
    Task,
    /// An automatic decision: the engine evaluates the branches at once, nobody acts.
    Decision,
    /// Work done through an adapter (printer, consultation); the case waits for the result.
    Service,
    /// The case waits in a queue until it is called; entering it hands out a number.
    Queue,
    /// A terminator: the case ends here.
    End,
}

impl StepKind {
    /// The kind as written in the YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Task => "task",
            StepKind::Decision => "decision",
            StepKind::Service => "service",
            StepKind::Queue => "queue",
            StepKind::End => "end",
        }
    }
}

/// What a missing required document does at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MissingDocuments {
    /// Completing the step without every required document is refused.
    #[default]
    Block,
    /// The step completes as it is; the branches read `documents_complete`.
    Branch,
}

/// One activity of the procedure (one symbol in the flowchart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Stable ASCII id, used in the API (`/cases/{id}/steps/{step}/complete`).
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub id: String,
    /// The row (No.) of the SOP table this step belongs to. Extra steps a row implies share
    /// its number and its time budget.
    #[schemars(range(min = 1, max = u32::MAX))]
    pub row: u32,
    /// What the step is.
    pub kind: StepKind,
    /// Short label for diagrams.
    pub name: String,
    /// Uraian Kegiatan: the activity text of the table (the row's first step carries it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    /// The actor (Pelaksana) in whose column the step stands.
    pub actor: String,
    /// Roles that may record this step; defaults to the actor's `recorded_by`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recorded_by: Vec<String>,
    /// Kelengkapan: documents this step needs or checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<String>,
    /// Whether a missing required document blocks completion or feeds a branch.
    #[serde(default)]
    pub missing_documents: MissingDocuments,
    /// Waktu: time budget as the table writes it (`30 detik`, `2 menit`, `1 jam`, `3 hari`,
    /// `14 hari kerja`; or `30s`, `2m`, `1h30m`, `3d`, ISO-8601 `PT2M`). Hours, minutes and
    /// seconds are working time (see `budget_clock`). A step without one shares the budget of
    /// its row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Budget")]
    pub budget: Option<Budget>,
    /// What the hours, minutes and seconds of `budget` count: `working` (default), only
    /// while the service point is open; `wall`, around the clock (e.g. a consultation with an
    /// outside desk). Days count as the budget says (`hari`, `hari kerja`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_clock: Option<BudgetClock>,
    /// Output of the step, as written in the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Keterangan (remarks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Whether the applicant can collect the result while the case is at this step (e.g. the
    /// card is printed and waits for hand-over): the citizen's status page says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ready_to_collect: bool,
    /// Case-data fields (top-level properties of `case_schema`) this step may set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collects: Vec<String>,
    /// Case-data fields that must hold a value once the step is completed: set by this
    /// completion or earlier. The step may set them (as if listed in `collects`); completing
    /// without one is refused, naming it. Only on `task` and `service` steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Outcomes the step may be completed with (e.g. `resolved`, `rejected`); guards read it
    /// as `outcome`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<String>,
    /// Service steps: the adapter to call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    /// Service steps: the case-data fields sent with the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request: Vec<String>,
    /// Service steps calling a `card_printer` adapter: what is printed. Without it the step
    /// prints its `request` fields on an A4 page titled with the step's `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printout: Option<Printout>,
    /// Service steps calling a `consultation` adapter: what the consultation is about, sent
    /// to the desk as `problem`. One text, or texts tried in order: the first whose `when`
    /// holds (a rhai expression over the case fields; the last may have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<ProblemText>,
    /// Queue steps: the queue the case waits in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Where to go next: a step id, or branches. Absent only on `end` steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Next>,
}

/// What a print step prints: a layout, a title and labelled case fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Printout {
    /// The paper: `id1_card` (85.6 × 54 mm, the size of a KTP-el) or `a4_document` (a page,
    /// or more, such as a Kartu Keluarga or a certificate).
    pub layout: PrintLayout,
    /// The heading printed on top, e.g. `REPUBLIK INDONESIA`.
    #[schemars(length(min = 1))]
    pub title: String,
    /// The case fields printed, in order, each after its label.
    #[schemars(length(min = 1))]
    pub fields: Vec<PrintField>,
}

/// The paper a printout is laid out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrintLayout {
    /// An ID-1 card (85.6 × 54 mm): the title and at most 7 lines, the first emphasised.
    Id1Card,
    /// An A4 page (210 × 297 mm): the title, then a line per field; longer ones continue on
    /// more pages.
    A4Document,
}

/// One line of a printout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrintField {
    /// The case field (a top-level property of `case_schema`) whose value is printed.
    pub field: String,
    /// The label printed before it, e.g. `NIK`, `Nama`.
    pub label: String,
}

/// What a consultation is about: one text, or the first of several whose condition holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ProblemText {
    /// Always this text.
    Text(String),
    /// The first text whose `when` holds; one without `when` always does.
    Choices(Vec<ProblemChoice>),
}

/// One of a consultation's problem texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemChoice {
    /// rhai expression over the case fields; absent: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// The text sent, e.g. `duplicate_record`.
    pub text: String,
}

/// The way out of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Next {
    /// Always this step.
    Step(String),
    /// The first branch whose guard holds; the branch without `when` is the default and
    /// comes last.
    Branches(Vec<Branch>),
}

/// One exit of a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// Target step.
    pub to: String,
    /// rhai expression; absent on the default branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Label on the arrow, e.g. `Lengkap` / `Tidak lengkap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl SopDocument {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn actor(&self, id: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.id == id)
    }

    pub fn document(&self, id: &str) -> Option<&DocumentDef> {
        self.documents.iter().find(|d| d.id == id)
    }

    /// Names of the top-level properties the case schema declares.
    pub fn case_fields(&self) -> Vec<&str> {
        self.case_schema
            .get("properties")
            .and_then(|p| p.as_object())
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Case fields marked `x-personal: true` in the case schema (NIK, names...).
    pub fn personal_fields(&self) -> Vec<&str> {
        self.fields_marked("x-personal")
    }

    /// Case fields marked `x-searchable: true` in the case schema: a returning applicant is
    /// found by them (a NIK, a KK number).
    pub fn searchable_fields(&self) -> Vec<&str> {
        self.fields_marked("x-searchable")
    }

    /// The top-level case fields whose schema sets `mark` to `true`.
    fn fields_marked(&self, mark: &str) -> Vec<&str> {
        self.case_schema
            .get("properties")
            .and_then(|p| p.as_object())
            .map(|p| {
                p.iter()
                    .filter(|(_, schema)| schema.get(mark).and_then(|v| v.as_bool()) == Some(true))
                    .map(|(k, _)| k.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Step {
    /// The branches out of this step, a single `next` being one default branch.
    pub fn branches(&self) -> Vec<Branch> {
        match &self.next {
            None => Vec::new(),
            Some(Next::Step(to)) => vec![Branch {
                to: to.clone(),
                when: None,
                label: None,
            }],
            Some(Next::Branches(b)) => b.clone(),
        }
    }
}

/// The JSON Schema of the SOP format, as committed in `sop-definitions/sop.schema.json`.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(SopDocument);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
