//! The interface's words in Bahasa Indonesia (the default) and English: one table, here.
//! What the SOP says (step names, activity texts, document names, field descriptions) is
//! shown as the SOP writes it, in either language. A missing word is a compile error.

/// The interface language, chosen with the switch in the page header and kept in a cookie
/// for the browser session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Id,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "id" => Some(Lang::Id),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Id => Lang::En,
            Lang::En => Lang::Id,
        }
    }

    pub fn msg(self) -> &'static Msg {
        match self {
            Lang::Id => &ID,
            Lang::En => &EN,
        }
    }
}

macro_rules! messages {
    ($($key:ident: $id:literal, $en:literal;)*) => {
        /// Every word of the interface.
        #[derive(Debug)]
        pub struct Msg {
            $(pub $key: &'static str,)*
        }
        static ID: Msg = Msg { $($key: $id,)* };
        static EN: Msg = Msg { $($key: $en,)* };
    };
}

messages! {
    language_name: "Bahasa Indonesia", "English";
    switch_to: "English", "Bahasa Indonesia";
    app_name: "sopflow", "sopflow";
    skip_to_content: "Langsung ke isi", "Skip to content";
    login_title: "Masuk", "Log in";
    username: "Nama pengguna", "Username";
    password: "Kata sandi", "Password";
    login_button: "Masuk", "Log in";
    login_failed: "Nama pengguna atau kata sandi salah.", "Wrong username or password.";
    login_blocked: "Terlalu banyak percobaan gagal. Coba lagi dalam", "Too many failed attempts. Try again in";
    seconds: "detik", "seconds";
    logout: "Keluar", "Log out";
    logged_in_as: "Masuk sebagai", "Logged in as";
    role: "Peran", "Role";
    session_expired_title: "Sesi berakhir", "Session ended";
    session_expired: "Sesi Anda telah berakhir atau tidak ditemukan. Silakan masuk kembali; isian yang belum disimpan tidak tercatat.", "Your session has ended or was not found. Please log in again; anything not yet saved was not recorded.";
    csrf_refused_title: "Formulir ditolak", "Form refused";
    csrf_refused: "Formulir ini tidak membawa tanda keamanan yang sah (mungkin dibuka dari halaman lama). Muat ulang halaman dan kirim lagi.", "This form did not carry a valid security token (it may come from an old page). Reload the page and send it again.";
    not_found_title: "Halaman tidak ditemukan", "Page not found";
    not_found: "Alamat ini tidak ada.", "There is nothing at this address.";
    method_not_allowed_title: "Tidak dapat dilakukan", "Not possible";
    method_not_allowed: "Halaman ini tidak menerima permintaan seperti itu.", "This page does not accept that kind of request.";
    forbidden_title: "Tidak diizinkan", "Not allowed";
    error_title: "Terjadi kesalahan", "Something went wrong";
    error_text: "Permintaan tidak dapat diselesaikan. Coba lagi sebentar lagi.", "The request could not be completed. Try again in a moment.";
    back_to_desk: "Kembali ke meja kerja", "Back to the desk";
    nav_desk: "Meja kerja", "Desk";
    nav_open: "Buka berkas baru", "Open a new case";
    nav_counter: "Loket", "Counter";
    nav_board: "Papan antrian", "Queue board";
    nav_status: "Cek status", "Check status";
    desk_title: "Meja kerja", "Desk";
    inbox_for_role: "Tugas untuk peran", "Tasks for role";
    inbox_empty: "Tidak ada tugas saat ini.", "No tasks right now.";
    inbox_shown: "ditampilkan", "shown";
    inbox_of: "dari", "of";
    inbox_refreshes: "Daftar diperbarui otomatis.", "The list refreshes by itself.";
    col_registration: "No. registrasi", "Registration no.";
    col_service: "Layanan", "Service";
    col_step: "Langkah", "Step";
    col_queue: "Antrian", "Queue";
    col_time_left: "Sisa waktu", "Time left";
    col_open: "Buka", "Open";
    open_task: "Kerjakan", "Work on it";
    no_budget: "tanpa batas waktu", "no time limit";
    overdue_by: "lewat", "overdue by";
    left: "tersisa", "left";
    find_title: "Cari berkas", "Find a case";
    find_label: "Nomor registrasi", "Registration number";
    find_button: "Cari", "Find";
    find_none: "Tidak ada berkas dengan nomor registrasi itu.", "No case has that registration number.";
    step_done: "Langkah selesai dicatat untuk berkas", "Step recorded for case";
    case_title: "Berkas", "Case";
    case_data: "Data berkas", "Case data";
    personal_masked: "data pribadi, hanya untuk petugas yang menangani", "personal data, for the officers handling the case only";
    not_filled: "belum diisi", "not filled in";
    status: "Status", "Status";
    status_open: "Berjalan", "In progress";
    status_incident: "Tertahan (insiden)", "On hold (incident)";
    status_completed: "Selesai", "Completed";
    status_cancelled: "Dibatalkan", "Cancelled";
    current_step: "Langkah sekarang", "Current step";
    activity: "Uraian kegiatan", "Activity";
    output: "Output", "Output";
    actor: "Pelaksana", "Performed by";
    documents: "Kelengkapan", "Documents";
    doc_required: "Wajib", "Required";
    doc_received: "Diterima", "Received";
    doc_missing: "Belum ada", "Missing";
    doc_not_needed: "Tidak diperlukan", "Not needed";
    doc_handed_in: "diserahkan", "handed in";
    docs_missing_summary: "dokumen wajib belum ada", "required documents missing";
    docs_complete_summary: "Semua dokumen wajib lengkap.", "All required documents are here.";
    step_form: "Isian langkah ini", "This step's entries";
    complete_step: "Simpan dan selesaikan langkah", "Save and complete the step";
    choose: "Pilih…", "Choose…";
    yes: "Ya", "Yes";
    no: "Tidak", "No";
    required_field: "wajib", "required";
    errors_title: "Isian belum dapat disimpan", "The entries could not be saved";
    err_required: "Wajib diisi.", "Required.";
    err_pattern: "Format tidak sesuai.", "Wrong format.";
    err_too_long: "Terlalu panjang.", "Too long.";
    err_too_short: "Terlalu pendek.", "Too short.";
    err_choice: "Pilih salah satu pilihan.", "Choose one of the options.";
    err_type: "Jenis isian salah.", "Wrong kind of value.";
    err_invalid: "Isian tidak sah.", "Invalid entry.";
    err_missing_docs: "Dokumen wajib belum ada:", "Required documents missing:";
    err_not_allowed_fields: "Isian ini tidak boleh diubah pada langkah ini.", "These fields may not be set at this step.";
    conflict: "Berkas ini sudah berubah sejak halaman dibuka (oleh petugas lain atau sistem). Langkahnya sekarang:", "This case has changed since the page was opened (by another officer or the system). Its step now:";
    reload: "Muat ulang berkas", "Reload the case";
    other_role_step: "Langkah ini dikerjakan oleh peran", "This step is done by role";
    wrong_role: "Peran Anda tidak boleh mencatat langkah ini.", "Your role may not record this step.";
    waiting_queue: "Berkas menunggu dipanggil dari antrian; panggil dari halaman Loket.", "The case waits to be called from its queue; call it from the Counter page.";
    waiting_adapter: "Menunggu hasil dari", "Waiting for the result from";
    closed_case: "Berkas ini sudah ditutup.", "This case is closed.";
    incident: "Insiden", "Incident";
    print_receipt: "Cetak tanda terima", "Print the receipt";
    open_title: "Buka berkas baru", "Open a new case";
    open_choose: "Pilih layanan", "Choose the service";
    open_none: "Peran Anda tidak membuka berkas layanan mana pun.", "Your role opens cases of no service.";
    open_button: "Buka berkas", "Open the case";
    open_first_step: "Langkah pertama", "First step";
    receipt_title: "Tanda terima", "Receipt";
    receipt_heading: "TANDA TERIMA BERKAS", "RECEIPT";
    receipt_registration: "Nomor registrasi", "Registration number";
    receipt_queue: "Nomor antrian", "Queue number";
    receipt_no_queue: "diberikan setelah berkas diverifikasi", "given once the file is verified";
    receipt_date: "Tanggal", "Date";
    receipt_service_point: "Tempat layanan", "Service point";
    receipt_tracking: "Kode lacak", "Tracking code";
    receipt_tracking_hint: "Cek status permohonan di halaman status dengan kode ini. Simpan tanda terima ini; jangan berikan kode kepada orang lain.", "Check the application's status on the status page with this code. Keep this receipt; do not share the code.";
    receipt_print: "Cetak", "Print";
    receipt_to_case: "Ke berkas", "To the case";
    counter_title: "Loket", "Counter";
    counter_choose: "Loket Anda", "Your counter";
    counter_set: "Simpan loket", "Save the counter";
    counter_none: "belum dipilih", "not chosen";
    counter_queues: "Antrian yang Anda panggil", "Queues you call";
    counter_no_queues: "Peran Anda tidak memanggil antrian mana pun.", "Your role calls no queue.";
    waiting: "menunggu", "waiting";
    call_next: "Panggil berikutnya", "Call next";
    recall: "Panggil ulang", "Recall";
    no_show: "Tidak hadir", "No-show";
    no_show_reason: "Pemohon tidak hadir saat dipanggil di loket.", "The applicant did not come when called to the counter.";
    transfer: "Alihkan ke", "Transfer to";
    nobody_waiting: "Tidak ada yang menunggu di antrian ini.", "Nobody is waiting in this queue.";
    last_called: "Terakhir dipanggil", "Last called";
    board_title: "Papan antrian", "Queue board";
    board_now: "Dipanggil", "Now serving";
    board_recent: "Panggilan terakhir", "Recent calls";
    board_waiting: "Menunggu", "Waiting";
    board_sound: "Aktifkan suara", "Turn on sound";
    board_sound_on: "Suara aktif", "Sound on";
    board_connection_lost: "Sambungan terputus, menyambung kembali…", "Connection lost, reconnecting…";
    board_to_counter: "ke", "to";
    board_choose: "Pilih tempat pelayanan", "Choose the service point";
    board_nobody: "Belum ada panggilan.", "No calls yet.";
    status_title: "Cek status permohonan", "Check an application's status";
    status_code_label: "Kode lacak (pada tanda terima)", "Tracking code (on the receipt)";
    status_button: "Cek", "Check";
    status_unknown: "Kode tidak dikenal. Periksa kembali kode pada tanda terima.", "Unknown code. Check the code on the receipt again.";
    status_blocked: "Terlalu banyak percobaan. Coba lagi nanti.", "Too many attempts. Try again later.";
    status_service: "Layanan", "Service";
    status_step: "Tahap", "Stage";
    status_in_progress: "Sedang diproses", "Being processed";
    status_on_hold: "Sedang ditangani petugas", "Being looked into by an officer";
    status_ready: "Siap diambil", "Ready to collect";
    status_done: "Selesai", "Completed";
    status_withdrawn: "Dibatalkan", "Withdrawn";
    // auditor pages
    nav_audit: "Pemeriksaan", "Audit";
    audit_title: "Pemeriksaan (inspektorat)", "Audit (inspectorate)";
    audit_only_auditors: "Halaman pemeriksaan hanya untuk auditor dan admin.", "The audit pages are for auditors and admins only.";
    audit_search: "Cari berkas", "Find cases";
    audit_tools: "Verifikasi, jangkar, ekspor", "Verify, anchor, export";
    audit_access_log: "Log akses", "Access log";
    audit_any: "Semua", "Any";
    audit_number_hint: "Nomor registrasi menemukan satu berkas; saringan lain untuk menelusuri.", "A registration number finds one case; the other filters are for browsing.";
    audit_opened_from: "Dibuka sejak tanggal", "Opened from";
    audit_opened_to: "Dibuka sampai tanggal", "Opened until";
    audit_bad_date: "Tanggal tidak sah (tttt-bb-hh).", "Not a date (yyyy-mm-dd).";
    audit_range_backwards: "Tanggal akhir sebelum tanggal awal.", "The end date is before the start date.";
    audit_results: "Hasil pencarian", "Search results";
    audit_cases: "Berkas", "Cases";
    audit_nothing_found: "Tidak ada berkas yang cocok.", "No case matches.";
    audit_opened: "Dibuka", "Opened";
    audit_last_change: "Perubahan terakhir", "Last change";
    audit_timeline: "Riwayat berkas", "Case timeline";
    audit_next_page: "Halaman berikutnya", "Next page";
    audit_status_unknown: "Tidak dikenal", "Unknown";
    audit_back: "Kembali ke pencarian", "Back to the search";
    audit_unreplayable: "Riwayat tidak dapat diputar ulang", "The history cannot be replayed";
    audit_verified: "Rantai hash dan semua keputusan terverifikasi", "Hash chain and every decision verified";
    audit_not_verified: "Riwayat TIDAK terverifikasi", "The history does NOT verify";
    audit_events: "peristiwa", "events";
    audit_findings: "temuan", "findings";
    audit_sop_hash: "Hash isi versi SOP:", "Content hash of the SOP version:";
    audit_verify_case: "Verifikasi berkas ini", "Verify this case";
    audit_verify_ok: "Verifikasi berhasil: tanpa temuan", "Verified: no findings";
    audit_verify_bad: "Verifikasi menemukan masalah", "Verification found problems";
    audit_personal_masked: "Data pribadi disamarkan", "Personal data masked";
    audit_reveal_reason: "Alasan membuka data pribadi", "Reason for showing personal data";
    audit_reveal_hint: "Alasan dicatat di log akses bersama nama Anda dan waktunya sebelum data ditampilkan.", "The reason is recorded in the access log with your name and the time before anything is shown.";
    audit_reveal: "Tampilkan data pribadi", "Show personal data";
    audit_reveal_auditors_only: "Hanya auditor yang dapat membuka data pribadi.", "Only auditors may show personal data.";
    audit_reason_required: "Alasan wajib diisi.", "A reason is required.";
    audit_reason_too_long: "Alasan terlalu panjang (paling banyak 500 karakter).", "The reason is too long (500 characters at most).";
    audit_revealed: "Data pribadi ditampilkan", "Personal data shown";
    audit_revealed_for: "Ditampilkan dengan alasan", "Shown for the reason";
    audit_revealed_recorded: "Akses ini telah dicatat di log akses.", "This access is recorded in the access log.";
    audit_mask_again: "Samarkan kembali", "Mask again";
    audit_case_events: "Pembukaan berkas", "Opening of the case";
    audit_row: "Baris", "Row";
    audit_visit: "kunjungan", "visit";
    audit_entered: "Masuk langkah", "Entered";
    audit_completed: "Selesai", "Completed";
    audit_still_open: "masih berjalan", "still open";
    audit_by: "Oleh", "By";
    audit_outcome: "Hasil", "Outcome";
    audit_spent: "Waktu", "Time";
    audit_budget: "batas", "budget";
    audit_budget_under: "Dalam batas waktu", "Within the budget";
    audit_budget_over: "Melewati batas waktu", "Over the budget";
    audit_budget_running: "Sedang berjalan", "Running";
    audit_number: "nomor", "number";
    audit_data_set: "Data yang dicatat", "Data recorded";
    audit_branch: "Cabang yang diambil", "Branch taken";
    audit_by_default: "tidak ada syarat yang terpenuhi: cabang tanpa syarat", "no condition held: the branch without one";
    audit_guard: "Syarat", "Condition";
    audit_values: "Nilai yang dibaca", "Values read";
    audit_result: "Hasil", "Result";
    audit_true: "benar", "true";
    audit_false: "salah", "false";
    audit_events_title: "Peristiwa dan status rantai", "Events and chain status";
    audit_chain_ok: "rantai ok", "chain ok";
    audit_chain_bad: "temuan", "finding";
    audit_verify_all: "Verifikasi semua berkas", "Verify all cases";
    audit_verify_all_hint: "Memeriksa baris tersimpan, rantai hash, kepala berkas, dan memutar ulang setiap keputusan terhadap versi SOP-nya, untuk semua berkas di tempat pelayanan yang Anda periksa.", "Checks the stored rows, the hash chain, each case's head, and replays every decision against its SOP version, for every case at the service points you audit.";
    audit_cases_word: "berkas", "cases";
    audit_started: "Dimulai", "Started";
    audit_finished: "selesai", "finished";
    audit_job_failed: "Verifikasi berhenti karena kesalahan penyimpanan; coba lagi.", "The verification stopped on a storage error; try again.";
    audit_no_job: "Belum ada verifikasi yang dijalankan.", "No verification run yet.";
    audit_anchor: "Jangkar", "Anchor";
    audit_anchor_hint: "Satu hash atas kepala semua berkas saat ini, untuk disimpan, ditandatangani, atau diumumkan; verifikasi kemudian membuktikan bahwa tidak ada yang tercatat sebelumnya berubah.", "One hash over the heads of all cases now, to keep, sign or publish; a later verification proves nothing recorded before it changed.";
    audit_anchor_download: "Unduh jangkar (JSON)", "Download the anchor (JSON)";
    audit_export: "Ekspor riwayat berkas", "Export case histories";
    audit_format: "Format", "Format";
    audit_export_reveal: "Sertakan data pribadi tanpa disamarkan", "Include personal data unmasked";
    audit_reason: "Alasan", "Reason";
    audit_export_download: "Unduh ekspor", "Download the export";
    audit_export_auditors_only: "Hanya auditor yang dapat mengekspor.", "Only auditors may export.";
    audit_access_hint: "Setiap ekspor dan setiap pembukaan data pribadi: siapa, kapan, apa, dan mengapa; terbaru di atas.", "Every export and every showing of personal data: who, when, what and why; newest first.";
    audit_latest: "paling banyak", "at most";
    audit_access_empty: "Log akses masih kosong.", "The access log is empty.";
    audit_when: "Waktu", "When";
    audit_who: "Siapa", "Who";
    audit_action: "Tindakan", "Action";
    audit_scope: "Cakupan", "Scope";
    audit_personal: "Data pribadi", "Personal data";
    audit_shown: "ditampilkan", "shown";
    audit_masked: "disamarkan", "masked";
    // admin pages
    nav_admin: "Kelola", "Administration";
    adm_title: "Kelola", "Administration";
    adm_only_admins: "Halaman ini hanya untuk administrator.", "This page is for administrators only.";
    adm_sops: "SOP dan versinya", "SOPs and their versions";
    adm_deploy: "Pasang versi baru", "Deploy a new version";
    adm_no_sops: "Belum ada SOP yang terpasang.", "No SOP is deployed yet.";
    adm_sop: "SOP", "SOP";
    adm_title_col: "Judul", "Title";
    adm_versions: "Versi", "Versions";
    adm_version: "versi", "version";
    adm_in_force: "Berlaku", "In force";
    adm_scheduled: "Terjadwal", "Scheduled";
    adm_cases: "Berkas", "Cases";
    adm_rolled_back: "dikembalikan", "rolled back";
    adm_none_yet: "belum ada", "none yet";
    adm_refused_files: "Berkas definisi yang ditolak", "Refused definition files";
    adm_deployed_at: "Dipasang", "Deployed";
    adm_state: "Keadaan", "State";
    adm_choose_for_new: "Versi untuk berkas baru", "Version new cases start on";
    adm_from_date: "Berlaku mulai tanggal (kosong: sekarang)", "In force from (empty: now)";
    adm_from_date_hint: "Berkas yang sudah berjalan tetap pada versinya.", "Cases already running stay on their version.";
    adm_reason: "Alasan", "Reason";
    adm_release_button: "Tetapkan versi", "Choose this version";
    adm_releases: "Riwayat penetapan", "Release history";
    adm_no_releases: "Belum ada penetapan.", "No release yet.";
    adm_recorded_at: "Dicatat", "Recorded";
    adm_effective: "Berlaku mulai", "In force from";
    adm_by: "Oleh", "By";
    adm_rollback: "pengembalian", "rollback";
    adm_deployed_flash: "Terpasang: versi", "Deployed: version";
    adm_released_flash: "Berkas baru kini dimulai pada versi", "New cases now start on version";
    adm_choose_version: "Pilih versi yang ada.", "Choose an existing version.";
    adm_bad_date: "Tanggal harus berbentuk TTTT-BB-HH.", "The date must be YYYY-MM-DD.";
    adm_reason_needed: "Tuliskan alasannya: dicatat bersama penetapan.", "Write the reason: it is recorded with the release.";
    adm_number: "Nomor SOP", "SOP number";
    adm_total_time: "Waktu penyelesaian", "Total time";
    adm_official_table: "Tabel SOP (PermenPAN-RB)", "SOP table (PermenPAN-RB)";
    adm_open_printable: "Buka untuk dicetak", "Open to print";
    adm_text: "Teks YAML", "YAML text";
    adm_invalid: "SOP ini tidak valid; perbaiki masalah pada barisnya.", "This SOP is invalid; fix the problems at their lines.";
    adm_line: "Baris", "Line";
    adm_valid: "SOP valid:", "The SOP is valid:";
    adm_compared_with: "dibandingkan dengan", "compared with";
    adm_new_sop: "SOP baru", "a new SOP";
    adm_same_text: "Teksnya sama dengan versi yang berlaku; memasangnya tidak membuat versi baru.", "The text is that of the version in force; deploying it makes no new version.";
    adm_warnings: "Peringatan", "Warnings";
    adm_summary: "Yang berubah", "What changes";
    adm_no_structural_change: "Tidak ada perubahan langkah, waktu, dokumen, atau syarat; hanya teks.", "No change of steps, times, documents or guards; text only.";
    adm_area: "Bagian", "Part";
    adm_item: "Unsur", "Item";
    adm_before: "Sebelum", "Before";
    adm_after: "Sesudah", "After";
    adm_text_diff: "Perbedaan teks", "Text differences";
    adm_deploy_button: "Pasang", "Deploy";
    adm_code_view: "Teks yang diperiksa", "The text checked";
    adm_yaml_text: "Teks SOP", "SOP text";
    adm_upload: "Unggah berkas YAML", "Upload a YAML file";
    adm_paste: "atau tempel teksnya di sini", "or paste its text here";
    adm_check_button: "Periksa", "Check";
    adm_text_empty: "Teks SOP kosong.", "The SOP text is empty.";
    adm_area_steps: "Langkah", "Steps";
    adm_area_budgets: "Waktu", "Time budgets";
    adm_area_documents: "Kelengkapan", "Documents";
    adm_area_guards: "Syarat cabang", "Guards";
    adm_area_actors: "Pelaksana", "Actors";
    adm_area_schema: "Data berkas", "Case schema";
    adm_area_header: "Identitas SOP", "Header";
    adm_incidents: "Insiden", "Incidents";
    adm_users: "Pengguna", "Users";
    adm_no_incidents: "Tidak ada insiden terbuka.", "No open incident.";
    adm_case: "Berkas", "Case";
    adm_step: "Langkah", "Step";
    adm_adapter: "Penghubung", "Adapter";
    adm_attempts: "Percobaan", "Attempts";
    adm_why: "Sebab", "Reason";
    adm_given_up: "Dihentikan", "Given up";
    adm_retry: "Ulangi", "Retry";
    adm_incident_gone: "Insiden itu sudah tidak terbuka.", "That incident is no longer open.";
    adm_incident_retried: "Pengiriman diulang; berkas kembali berjalan.", "Delivery retried; the case goes on.";
    adm_default_point: "tempat pelayanan bawaan", "default service point";
    adm_bad_name: "Nama: 1 sampai 64 huruf kecil, angka, _ . -", "Name: 1 to 64 lower-case letters, digits, _ . -";
    adm_bad_role: "Pilih peran yang dikenal.", "Choose a known role.";
    adm_bad_points: "Pilih sedikitnya satu tempat pelayanan yang ada.", "Choose at least one existing service point.";
    adm_bad_password: "Kata sandi sedikitnya 10 karakter.", "A password of at least 10 characters.";
    adm_user_added: "Pengguna ditambahkan:", "User added:";
    adm_user_exists: "Nama ini sudah dipakai.", "This name is taken.";
    adm_password_set: "Kata sandi diganti.", "Password set.";
    adm_token_rotated: "Token baru untuk", "New token for";
    adm_granted: "Peran diberikan.", "Role granted.";
    adm_disabled_done: "Pengguna dinonaktifkan; sesinya berakhir.", "User disabled; their sessions ended.";
    adm_enabled_done: "Pengguna diaktifkan kembali.", "User enabled again.";
    adm_not_yourself: "Anda tidak dapat menonaktifkan diri sendiri.", "You cannot disable yourself.";
    adm_token_once: "Token API (hanya ditampilkan sekali; simpan sekarang) untuk", "API token (shown once only; keep it now) for";
    adm_roles_at: "Peran di tempat", "Roles at";
    adm_created: "Dibuat", "Created";
    adm_change: "Ubah", "Change";
    adm_disabled: "Nonaktif sejak", "Disabled since";
    adm_active: "Aktif", "Active";
    adm_new_password: "Kata sandi baru", "New password";
    adm_set_password: "Ganti kata sandi", "Set password";
    adm_rotate_token: "Buat token baru", "New token";
    adm_at: "Di tempat pelayanan", "At service point";
    adm_everywhere: "Semua tempat", "Everywhere";
    adm_grant: "Berikan peran", "Grant role";
    adm_enable: "Aktifkan", "Enable";
    adm_disable: "Nonaktifkan", "Disable";
    adm_add_user: "Tambah pengguna", "Add a user";
    adm_password_hint: "Kosong: hanya token API, tanpa masuk ke halaman.", "Empty: an API token only, no login to the pages.";
    // supervisor pages and the satisfaction survey (SKM)
    nav_live: "Pantauan", "Live";
    nav_report: "Laporan", "Report";
    nav_ikm: "IKM", "Satisfaction";
    nav_survey: "Survei", "Survey";
    sv_not_supervisor: "Halaman ini untuk kepala seksi atau kepala dinas di tempat pelayanan ini.", "This page is for the head of section or of the office at this service point.";
    sv_live_title: "Pantauan hari ini", "Today, live";
    sv_refreshes: "Angka diperbarui sendiri setiap 5 detik.", "The figures refresh themselves every 5 seconds.";
    sv_as_of: "Keadaan pukul", "As of";
    sv_breaches: "melewati batas waktu", "past their time budget";
    sv_completed_today: "selesai hari ini", "completed today";
    sv_queues: "menunggu di antrian", "waiting in the queues";
    sv_open_per_step: "Berkas terbuka per langkah", "Open cases per step";
    sv_no_open: "Tidak ada berkas terbuka.", "No open cases.";
    sv_open: "Terbuka", "Open";
    sv_overdue: "Terlambat", "Overdue";
    sv_breach_list: "Berkas melewati batas waktu", "Cases past their time budget";
    sv_no_breaches: "Tidak ada berkas yang terlambat.", "No case is overdue.";
    sv_due: "Batas", "Due";
    sv_late_by: "Terlambat", "Late by";
    sv_waiting: "Menunggu di antrian", "Waiting in the queues";
    sv_no_queues: "Tidak ada yang menunggu.", "Nobody is waiting.";
    sv_oldest_wait: "Menunggu paling lama", "Longest wait";
    sv_since: "sejak", "since";
    sv_counters: "Petugas di loket", "Staff at the counters";
    sv_no_counters: "Tempat pelayanan ini tidak memiliki loket.", "This service point has no counters.";
    sv_counter: "Loket", "Counter";
    sv_at: "Pukul", "At";
    sv_completed_per_hour: "Selesai per jam hari ini", "Completed per hour today";
    sv_cases: "berkas", "cases";
    sv_completed: "selesai", "completed";
    sv_cancelled: "dibatalkan", "cancelled";
    sv_running: "masih berjalan", "still running";
    sv_total_breaches: "melewati waktu total", "over the total time";
    sv_point: "Tempat pelayanan", "Service point";
    sv_all_points: "Semua tempat pelayanan", "All service points";
    sv_from: "Dari tanggal", "From";
    sv_to: "Sampai tanggal", "To";
    sv_show: "Tampilkan", "Show";
    sv_bad_date: "Tanggal tidak sah (gunakan pemilih tanggal).", "Not a valid date (use the date picker).";
    sv_period_backwards: "Tanggal akhir harus sesudah tanggal awal.", "The end date must come after the start date.";
    sv_period_too_long: "Periode paling lama 400 hari.", "The period can be at most 400 days.";
    sv_report_title: "Laporan waktu pelayanan", "Service time report";
    sv_report_note: "Berkas yang didaftarkan dalam periode ini; angka yang sama dengan sopflow report.", "Cases registered in the period; the same figures as sopflow report.";
    sv_csv: "Unduh CSV", "Download CSV";
    sv_no_cases: "Tidak ada berkas dalam periode ini.", "No cases in this period.";
    sv_version: "versi", "version";
    sv_budget: "Batas waktu", "Budget";
    sv_visits: "Dikerjakan", "Done";
    sv_over_budget: "Lewat batas", "Over budget";
    sv_breaches_recorded: "Pelanggaran tercatat", "Breaches recorded";
    sv_time_chart: "waktu per langkah (p50, p90) terhadap batas waktu", "time per step (p50, p90) against the budget";
    sv_time_axis: "Waktu", "Time";
    sv_rate_chart: "berkas dikembalikan dan konsultasi", "cases returned and consultations";
    sv_share_of_cases: "Bagian dari berkas", "Share of cases";
    sv_returns: "Berkas dikembalikan / diulang", "Cases returned or repeated";
    sv_consultations: "Konsultasi", "Consultations";
    sv_branch: "Cabang", "Branch";
    sv_none_in_sop: "Tidak ada dalam SOP ini.", "None in this SOP.";
    sv_ikm_title: "Indeks Kepuasan Masyarakat (IKM)", "Community Satisfaction Index (IKM)";
    sv_weighting: "Bobot unsur", "Element weight";
    sv_weight_exact: "1/9 (sesuai peraturan)", "1/9 (as the regulation)";
    sv_weight_rounded: "0,111 (dibulatkan)", "0.111 (rounded)";
    sv_weight_exact_note: "IKM = rata-rata sembilan nilai unsur × 25 (bobot tepat 1/9, Permenpan-RB 14/2017), dibulatkan dua desimal.", "IKM = the mean of the nine element averages × 25 (exact 1/9 weight, Permenpan-RB 14/2017), rounded to two decimals.";
    sv_weight_rounded_note: "IKM = jumlah nilai unsur × 0,111 × 25 (bobot dibulatkan yang dipakai sebagian kantor; sedikit lebih rendah dari bobot 1/9).", "IKM = the sum of the element averages × 0.111 × 25 (the rounded weight some offices use; slightly below the 1/9 weight).";
    sv_no_answers: "Belum ada jawaban survei dalam periode ini.", "No survey answers in this period.";
    sv_respondents: "Responden", "Respondents";
    sv_grade: "Mutu", "Grade";
    sv_grades_note: "Mutu pelayanan: A 88,31–100 sangat baik; B 76,61–88,30 baik; C 65,00–76,60 kurang baik; D 25,00–64,99 tidak baik.", "Grades: A 88.31–100 very good; B 76.61–88.30 good; C 65.00–76.60 poor; D 25.00–64.99 very poor.";
    sv_all_services: "Semua layanan", "All services";
    sv_ikm_chart: "Nilai rata-rata per unsur (1–4)", "Average per element (1–4)";
    sv_average: "Nilai rata-rata", "Average";
    survey_title: "Survei Kepuasan Masyarakat", "Satisfaction survey";
    survey_for: "Layanan:", "Service:";
    survey_intro: "Berilah nilai untuk setiap unsur pelayanan: 1 tidak baik, 2 kurang baik, 3 baik, 4 sangat baik.", "Rate each part of the service: 1 poor, 2 fair, 3 good, 4 very good.";
    survey_1: "Tidak baik", "Poor";
    survey_2: "Kurang baik", "Fair";
    survey_3: "Baik", "Good";
    survey_4: "Sangat baik", "Very good";
    survey_comment: "Saran atau masukan (tidak wajib)", "Suggestions (optional)";
    survey_anonymous: "Jawaban Anda tidak dikaitkan dengan permohonan atau data pribadi Anda.", "Your answers are not linked to your application or your personal data.";
    survey_send: "Kirim jawaban", "Send answers";
    survey_choose_one: "Pilih salah satu nilai.", "Choose one of the values.";
    survey_comment_too_long: "Paling banyak 500 huruf.", "At most 500 characters.";
    survey_comment_control: "Ada karakter yang tidak dapat disimpan.", "Contains characters that cannot be stored.";
    survey_fix: "Periksa isian yang ditandai.", "Check the marked entries.";
    survey_thanks: "Terima kasih, jawaban Anda sudah tercatat.", "Thank you, your answers have been recorded.";
    survey_already: "Survei untuk permohonan ini sudah diisi. Terima kasih.", "The survey for this application has already been answered. Thank you.";
    survey_not_yet: "Survei dapat diisi setelah hasil layanan diserahkan.", "The survey opens once the result has been handed over.";
    survey_back: "Kembali", "Back";
    // admin pages: service points, counters and calendars; who staffs which counter
    adm_points: "Tempat layanan", "Service points";
    adm_calendars: "Kalender", "Calendars";
    off_title: "Tempat layanan dan loket", "Service points and counters";
    off_intro: "Setiap tempat layanan dengan zona waktu, kalender, loket, petugas yang sedang bertugas di tiap loket, dan berkas yang terbuka di sana. Perubahan di sini sama dengan PUT /service-points/{id} di API.", "Each service point with its time zone, calendar, counters, the officer working each counter now, and the cases open there. A change here is the API's PUT /service-points/{id}.";
    off_default: "utama", "default";
    off_by_config: "diatur berkas konfigurasi", "kept by the configuration file";
    off_zone: "Zona waktu", "Time zone";
    off_calendar: "Kalender", "Calendar";
    off_no_calendar: "tanpa kalender (selalu buka)", "no calendar (always open)";
    off_open_cases: "Berkas terbuka", "Open cases";
    off_queues: "Antrian", "Queues";
    off_queues_note: "Setiap loket memanggil antrian yang boleh dipanggil oleh peran petugasnya (menurut SOP).", "Each counter calls the queues its officer's roles may call (as the SOPs say).";
    off_no_counters: "Belum ada loket.", "No counter yet.";
    off_counter_id: "Kode loket", "Counter id";
    off_staffed_by: "Petugas sekarang", "Officer now";
    off_called_by: "Pemanggil terakhir", "Last called by";
    off_kept_by_config: "Tempat layanan ini diatur di berkas konfigurasi (ditulis ulang setiap kali layanan dimulai): ubah di sana.", "This service point is kept by the configuration file (written again at each start): change it there.";
    off_change: "Ubah tempat layanan ini", "Change this service point";
    off_add: "Tambah tempat layanan", "Add a service point";
    off_save: "Simpan perubahan", "Save changes";
    off_id: "Kode tempat", "Id";
    off_id_hint: "Huruf kecil, angka, _ dan -, misalnya kec_sungai_aur. Tidak dapat diubah nanti.", "Lower-case letters, digits, _ and -, e.g. kec_sungai_aur. It cannot be changed later.";
    off_name: "Nama", "Name";
    off_zone_hint: "Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT), UTC atau selisih seperti +07:00.", "Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT), UTC or an offset like +07:00.";
    off_counters: "Loket (satu per baris)", "Counters (one per line)";
    off_counters_hint: "Tulis nama loket (kodenya dari nama: Loket 1 → loket_1) atau kode = nama, misalnya loket_foto = Loket Foto. Urutan ini urutan di papan antrian.", "Write a counter's name (its id from the name: Loket 1 → loket_1) or id = name, e.g. loket_foto = Loket Foto. This order is the display board's.";
    off_saved: "Tersimpan:", "Saved:";
    off_bad_id: "Kode tempat tidak sah.", "The id is not valid.";
    off_bad_name: "Nama wajib diisi.", "A name is required.";
    off_bad_zone: "Zona waktu tidak dikenal.", "Unknown time zone.";
    off_bad_calendar: "Kalender ini tidak dapat dipakai.", "This calendar cannot be used.";
    off_bad_counters: "Daftar loket ditolak.", "The counters are refused.";
    off_id_taken: "Kode ini sudah dipakai tempat layanan lain: ubah tempat itu di atas.", "This id is already a service point's: change that one above.";
    cal_title: "Kalender kerja", "Working calendars";
    cal_how_to_change: "Kalender dibaca dari folder kalender (berkas <kode>.toml) saat layanan dimulai. Untuk mengubahnya: sunting berkas di folder itu, lalu mulai ulang layanan. Berkas baru memakai kalender yang baru; berkas yang sudah berjalan tetap pada kalender yang tersemat padanya (menurut hash isinya).", "Calendars are read from the calendars folder (files <id>.toml) when the service starts. To change one: edit its file in that folder, then restart the service. New cases run on the new calendar; cases already running keep the calendar pinned to them (by its content hash).";
    cal_check: "Periksa kalender", "Check a calendar";
    cal_date: "Tanggal", "Date";
    cal_time: "Jam", "Time";
    cal_working_days: "Hari kerja (tidak wajib)", "Working days (optional)";
    cal_check_button: "Periksa", "Check";
    cal_is_open: "buka", "open";
    cal_is_closed: "tutup", "closed";
    cal_next_open: "buka lagi", "opens again";
    cal_working_days_from: "hari kerja dari saat itu berakhir", "working days from then end";
    cal_check_note: "Dihitung dengan fungsi kalender yang dipakai mesin untuk batas waktu langkah (jam kerja, hari kerja).", "Computed with the calendar functions the engine uses for step budgets (working time, working days).";
    cal_period: "Hari libur dan hari buka khusus dalam 12 bulan ke depan:", "Days closed and days opened in the coming 12 months:";
    cal_none: "Folder kalender kosong: tempat layanan tanpa kalender selalu buka.", "The calendars folder is empty: service points without a calendar are always open.";
    cal_file: "Berkas", "File";
    cal_hash: "Hash isi", "Content hash";
    cal_includes: "Menyertakan", "Includes";
    cal_used_by: "Dipakai oleh", "Used by";
    cal_not_for_points: "Bukan kalender lengkap (tanpa zona atau jam buka): tidak dipakai langsung oleh tempat layanan.", "Not a whole calendar (no zone or opening hours): a service point does not keep it on its own.";
    cal_included_by: "Disertakan oleh:", "Included by:";
    cal_why: "Mengapa", "Why";
    cal_week: "Jam buka mingguan", "Weekly opening hours";
    cal_days: "Hari tutup dan hari buka khusus", "Days closed and days opened";
    cal_no_days: "Tidak ada dalam 12 bulan ke depan.", "None in the coming 12 months.";
    cal_kind: "Jenis", "Kind";
    cal_day_name: "Keterangan", "Description";
    cal_mon: "Senin", "Monday";
    cal_tue: "Selasa", "Tuesday";
    cal_wed: "Rabu", "Wednesday";
    cal_thu: "Kamis", "Thursday";
    cal_fri: "Jumat", "Friday";
    cal_sat: "Sabtu", "Saturday";
    cal_sun: "Minggu", "Sunday";
    cal_closed: "tutup", "closed";
    cal_national: "libur nasional", "national holiday";
    cal_cuti: "cuti bersama", "collective leave";
    cal_local: "tutup (kantor)", "office closure";
    cal_opened: "buka khusus", "opened";
    cal_bad_date: "Tulis tanggal seperti 2026-08-17.", "Write a date like 2026-08-17.";
    cal_bad_time: "Tulis jam seperti 10:00.", "Write a time like 10:00.";
    cal_bad_days: "Tulis bilangan 0 sampai 400.", "Write a number from 0 to 400.";
    // admin version page: flowchart and print
    adm_flowchart: "Bagan alir", "Flowchart";
    adm_incident_reason_needed: "Tuliskan alasannya: dicatat di riwayat berkas bersama nama Anda.", "Write the reason: it is recorded in the case's history with your name.";
    adm_print_hint: "Halaman ini dan tabelnya dicetak pada A4 mendatar (Ctrl+P); tabel yang panjang dibagi per halaman dengan penghubung antarhalaman (A, B, …).", "This page and its table print on A4 landscape (Ctrl+P); a long table is split into pages joined by off-page connectors (A, B, …).";
}
