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
}
