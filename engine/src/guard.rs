//! Guards: the rhai expressions on branches and on document conditions.
//!
//! rhai is sandboxed and bounded here, once, for every use: expressions only (no statements,
//! loops or function definitions), no modules, no `print`, and limits on operations, depth,
//! string, array and map sizes. rhai has no operation limit by default, so these limits are
//! what keeps a hostile guard from hanging a server. Guards are compiled once per SOP version
//! with strict variables, so a name neither the case schema nor the engine declares is a
//! deploy-time error, not a run-time surprise.

use std::sync::Arc;

use rhai::{AST, Dynamic, Engine, OptimizationLevel, Scope};

/// Names the engine gives every branch guard, beside the case-data fields.
pub const BUILTIN_NAMES: &[&str] = &[
    "documents",
    "documents_complete",
    "missing_documents",
    "outcome",
];

/// Bounds on one evaluation. A guard that needs more is broken.
const MAX_OPERATIONS: u64 = 10_000;
const MAX_CALL_LEVELS: usize = 8;
const MAX_EXPR_DEPTH: usize = 32;
const MAX_STRING_SIZE: usize = 16 * 1024;
const MAX_ARRAY_SIZE: usize = 1_024;
const MAX_MAP_SIZE: usize = 1_024;
/// Longer than any sensible condition; refused before rhai sees it.
pub const MAX_SOURCE_LEN: usize = 4 * 1024;

/// A guard compiled against a fixed set of names.
#[derive(Debug, Clone)]
pub struct CompiledGuard {
    /// The text, shared by every decision that records it.
    pub source: Arc<str>,
    ast: Arc<AST>,
    /// The declared names this guard reads, in order of first use: recorded with each
    /// decision so an auditor sees the values that decided it.
    pub reads: Vec<String>,
}

/// Why a guard does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct GuardCompileError {
    pub message: String,
    /// 1-based line and column inside the expression, when rhai knows it.
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// Why a guard could not decide. The case goes into an incident; nothing panics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("guard `{guard}` failed: {message}")]
    Failed { guard: String, message: String },
    #[error("guard `{guard}` returned {found}, expected true or false")]
    NotBoolean { guard: String, found: String },
}

/// The process-wide guard engine: configuration is fixed, so one instance serves every SOP.
pub fn shared() -> &'static GuardEngine {
    static ENGINE: std::sync::LazyLock<GuardEngine> = std::sync::LazyLock::new(GuardEngine::new);
    &ENGINE
}

/// The one configured rhai engine. `Send + Sync` (rhai's `sync` feature): share it.
pub struct GuardEngine {
    engine: Engine,
}

impl std::fmt::Debug for GuardEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GuardEngine")
    }
}

impl Default for GuardEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl GuardEngine {
    pub fn new() -> Self {
        let mut engine = Engine::new();
        engine
            .set_max_operations(MAX_OPERATIONS)
            .set_max_call_levels(MAX_CALL_LEVELS)
            .set_max_expr_depths(MAX_EXPR_DEPTH, MAX_EXPR_DEPTH)
            .set_max_string_size(MAX_STRING_SIZE)
            .set_max_array_size(MAX_ARRAY_SIZE)
            .set_max_map_size(MAX_MAP_SIZE)
            .set_strict_variables(true)
            // Constants folded at compile time would freeze the template's values into the AST.
            .set_optimization_level(OptimizationLevel::None)
            .disable_symbol("eval");
        // Guards see personal data; nothing they touch may reach stdout or the logs.
        engine.on_print(|_| {});
        engine.on_debug(|_, _, _| {});
        Self { engine }
    }

    /// Compiles `source` as an expression that may read only `names`.
    pub fn compile(
        &self,
        source: &str,
        names: &[&str],
    ) -> Result<CompiledGuard, GuardCompileError> {
        if source.len() > MAX_SOURCE_LEN {
            return Err(GuardCompileError {
                message: format!(
                    "guard is {} bytes long, the limit is {MAX_SOURCE_LEN}",
                    source.len()
                ),
                line: None,
                column: None,
            });
        }
        let mut scope = Scope::new();
        for name in names {
            scope.push(name.to_string(), Dynamic::UNIT);
        }
        let ast = self
            .engine
            .compile_expression_with_scope(&scope, source)
            .map_err(|e| {
                let pos = e.position();
                GuardCompileError {
                    message: e.err_type().to_string(),
                    line: pos.line(),
                    column: pos.position(),
                }
            })?;
        Ok(CompiledGuard {
            source: Arc::from(source),
            ast: Arc::new(ast),
            reads: identifiers(source)
                .into_iter()
                .filter(|id| names.contains(&id.as_str()))
                .fold(Vec::new(), |mut acc, id| {
                    if !acc.contains(&id) {
                        acc.push(id);
                    }
                    acc
                }),
        })
    }

    /// Evaluates a guard with `scope` holding every name it was compiled against.
    pub fn eval(&self, guard: &CompiledGuard, scope: &mut Scope) -> Result<bool, GuardError> {
        let value: Dynamic = self
            .engine
            .eval_ast_with_scope(scope, &guard.ast)
            .map_err(|e| GuardError::Failed {
                guard: guard.source.to_string(),
                message: e.to_string(),
            })?;
        value.as_bool().map_err(|found| GuardError::NotBoolean {
            guard: guard.source.to_string(),
            found: found.to_owned(),
        })
    }
}

/// Identifiers used in `source` outside string literals, with the property after a dot
/// (`documents.fotokopi_kk` gives `documents` and `.fotokopi_kk`).
pub fn identifiers(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = source.char_indices().peekable();
    let mut after_dot = false;
    while let Some((start, c)) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                // Skip the literal, honouring backslash escapes.
                let quote = c;
                let mut escaped = false;
                for (_, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == quote {
                        break;
                    }
                }
                after_dot = false;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = start + c.len_utf8();
                while let Some(&(i, n)) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        end = i + n.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = &source[start..end];
                out.push(if after_dot {
                    format!(".{word}")
                } else {
                    word.to_owned()
                });
                after_dot = false;
            }
            '.' => after_dot = true,
            c if c.is_whitespace() => {}
            _ => after_dot = false,
        }
    }
    out
}

/// Properties read from `object` (e.g. the document ids in `documents.x`), for checking them
/// against what the SOP declares.
pub fn properties_of(source: &str, object: &str) -> Vec<String> {
    let ids = identifiers(source);
    ids.windows(2)
        .filter(|w| w[0] == object)
        .filter_map(|w| w[1].strip_prefix('.').map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_with(pairs: &[(&str, Dynamic)]) -> Scope<'static> {
        let mut scope = Scope::new();
        for (k, v) in pairs {
            scope.push(k.to_string(), v.clone());
        }
        scope
    }

    #[test]
    fn evaluates_over_the_scope_it_is_given() {
        let g = GuardEngine::new();
        let guard = g
            .compile(
                r#"reason == "hilang" && documents_complete"#,
                &["reason", "documents_complete"],
            )
            .unwrap();
        assert_eq!(guard.reads, vec!["reason", "documents_complete"]);
        let mut yes = scope_with(&[
            ("reason", "hilang".into()),
            ("documents_complete", true.into()),
        ]);
        assert_eq!(g.eval(&guard, &mut yes), Ok(true));
        let mut no = scope_with(&[
            ("reason", "baru".into()),
            ("documents_complete", true.into()),
        ]);
        assert_eq!(g.eval(&guard, &mut no), Ok(false));
    }

    #[test]
    fn unknown_names_do_not_compile() {
        let g = GuardEngine::new();
        let err = g.compile("alasan == 1", &["reason"]).unwrap_err();
        assert!(err.message.contains("alasan"), "{err}");
    }

    #[test]
    fn statements_and_loops_do_not_compile() {
        let g = GuardEngine::new();
        assert!(g.compile("let x = 1", &[]).is_err());
        assert!(g.compile("loop { }", &[]).is_err());
        assert!(g.compile("fn f() { 1 }", &[]).is_err());
    }

    #[test]
    fn runaway_work_hits_a_limit_instead_of_hanging() {
        let g = GuardEngine::new();
        let guard = g.compile(r#"("x" * 100000).len() > 0"#, &[]);
        let result = guard.map(|guard| g.eval(&guard, &mut Scope::new()));
        assert!(!matches!(result, Ok(Ok(true))), "{result:?}");
        let ranged = g
            .compile("(0..100000000).map(|x| x + 1).len() > 0", &[])
            .unwrap();
        assert!(matches!(
            g.eval(&ranged, &mut Scope::new()),
            Err(GuardError::Failed { .. })
        ));
    }

    #[test]
    fn a_non_boolean_result_is_an_error() {
        let g = GuardEngine::new();
        let guard = g.compile("reason", &["reason"]).unwrap();
        let mut scope = scope_with(&[("reason", Dynamic::UNIT)]);
        assert!(matches!(
            g.eval(&guard, &mut scope),
            Err(GuardError::NotBoolean { .. })
        ));
    }

    #[test]
    fn identifiers_skip_string_literals_and_mark_properties() {
        assert_eq!(
            identifiers(r#"documents.kk && reason != "hilang x""#),
            vec!["documents", ".kk", "reason"]
        );
        assert_eq!(
            properties_of("documents.kk || documents.polisi", "documents"),
            vec!["kk", "polisi"]
        );
    }
}
