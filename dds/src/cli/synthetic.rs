//! Synthetic but realistic Danish patients and appointments for `dds seed`, reproducible from a
//! seed.
//!
//! Everything here is fictitious. CPR numbers have the real format: a valid birth date
//! `DDMMYY`, a 7th digit that agrees with the birth century, and a last digit whose parity is
//! the sex (odd male, even female); modulus 11 is not required (numbers issued since 2007 need
//! not satisfy it). Hospital and department names are real places, used only so that the
//! documents read naturally; their SOR codes are invented in the format of real ones
//! (`…1000016…`, 15 digits), like those of the samples. Names are common Danish names.
//!
//! Invariant: the same seed gives the same patients, documents and ids on every platform
//! (ChaCha8 from `rand_chacha`, and no clock: times count from [`APPOINTMENTS_FROM`]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};
use xds_model::vocabulary::dk;
use xds_model::xds::Code;

use super::metadata::{Institution, Patient};

/// The first day appointments fall on; they spread over the year after it. Fixed, so that a
/// seed gives the same data whenever it is run.
pub const APPOINTMENTS_FROM: Date = time::macros::date!(2026 - 03 - 02);
/// Days after [`APPOINTMENTS_FROM`] an appointment may fall on.
const APPOINTMENT_DAYS: i64 = 365;

/// A hospital department: who writes the appointments, and what they are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Department {
    pub sor: &'static str,
    pub name: &'static str,
    pub street: &'static str,
    pub postal_code: &'static str,
    pub city: &'static str,
    pub phone: &'static str,
    /// practiceSettingCode (SNOMED CT) and its Danish name.
    pub practice: (&'static str, &'static str),
    /// The SKS care-pathway code (eventCodeList) and its Danish name.
    pub pathway: (&'static str, &'static str),
    /// What appointments here are for: (what, where to meet, how to prepare).
    pub visits: &'static [(&'static str, &'static str, &'static str)],
}

/// SNOMED CT 22232009 "hospital": healthcareFacilityTypeCode of every department.
pub const HOSPITAL: (&str, &str) = ("22232009", "hospital");

/// The departments appointments come from (SOR codes invented, see the module docs).
pub const DEPARTMENTS: &[Department] = &[
    Department {
        sor: "242621000016001",
        name: "Aarhus Universitetshospital, Hjertesygdomme",
        street: "Palle Juul-Jensens Boulevard 99",
        postal_code: "8200",
        city: "Aarhus N",
        phone: "78452000",
        practice: ("394579002", "kardiologi"),
        pathway: ("ALAL02", "Hjertesygdomme"),
        visits: &[
            (
                "Ekkokardiografi (ultralydsscanning af hjertet)",
                "Ambulatorium C1, indgang C, plan 1",
                "Du må spise og drikke som normalt og tage din vanlige medicin.",
            ),
            (
                "Arbejds-EKG",
                "Hjertesygdomme, indgang C, plan 2",
                "Tag løst tøj og gode sko på. Spis et let måltid senest 2 timer før.",
            ),
        ],
    },
    Department {
        sor: "320721000016002",
        name: "Odense Universitetshospital, Lungemedicinsk afdeling J",
        street: "J. B. Winsløws Vej 4",
        postal_code: "5000",
        city: "Odense C",
        phone: "66113333",
        practice: ("418112009", "lungesygdomme"),
        pathway: ("ALAL21", "KOL"),
        visits: &[
            (
                "KOL-kontrol hos lungesygeplejerske",
                "Lungemedicinsk ambulatorium, indgang 87",
                "Medbring dine inhalatorer og din medicinliste.",
            ),
            (
                "Lungefunktionsundersøgelse",
                "Lungefunktionslaboratoriet, indgang 87, stuen",
                "Undlad at ryge og tage hurtigtvirkende inhalationsmedicin 6 timer før.",
            ),
        ],
    },
    Department {
        sor: "328081000016004",
        name: "Rigshospitalet, Ortopædkirurgisk klinik",
        street: "Blegdamsvej 9",
        postal_code: "2100",
        city: "København Ø",
        phone: "35454545",
        practice: ("394801008", "ortopædisk kirurgi"),
        pathway: ("ALAL23", "Osteoporose"),
        visits: &[
            (
                "Opfølgning på osteoporosebehandling",
                "Ortopædkirurgisk ambulatorium, opgang 6, 1. sal",
                "Medbring en liste over din medicin.",
            ),
            (
                "DXA-scanning (knoglescanning)",
                "Klinisk fysiologisk afdeling, opgang 5",
                "Tag tøj på uden metal, og tag ikke kalktabletter på dagen.",
            ),
        ],
    },
    Department {
        sor: "417151000016008",
        name: "Aalborg Universitetshospital, Onkologisk afdeling",
        street: "Hobrovej 18-22",
        postal_code: "9000",
        city: "Aalborg",
        phone: "97663000",
        practice: ("394593009", "onkologi"),
        pathway: ("ALAL01", "Kræft"),
        visits: &[
            (
                "Samtale om behandlingsplan",
                "Onkologisk ambulatorium, indgang 7",
                "Du er velkommen til at tage en pårørende med.",
            ),
            (
                "Kontrol efter kemoterapi",
                "Onkologisk dagafsnit, indgang 7, 2. sal",
                "Husk at få taget blodprøver 2 dage før.",
            ),
        ],
    },
    Department {
        sor: "281221000016005",
        name: "Herlev Hospital, Endokrinologisk afdeling",
        street: "Borgmester Ib Juuls Vej 1",
        postal_code: "2730",
        city: "Herlev",
        phone: "38686868",
        practice: ("394583002", "endokrinologi"),
        pathway: ("ALAL22", "Type 2-diabetes"),
        visits: &[
            (
                "Årskontrol for type 2-diabetes",
                "Diabetesambulatoriet, opgang 7, stuen",
                "Mød fastende, og medbring dit blodsukkerapparat.",
            ),
            (
                "Fodterapeut-undersøgelse",
                "Diabetesambulatoriet, fodterapien",
                "Tag strømper og sko på, som du plejer at gå i.",
            ),
        ],
    },
    Department {
        sor: "565891000016003",
        name: "Psykiatrisk Center København, Ambulatorium",
        street: "Edel Sauntes Allé 10",
        postal_code: "2100",
        city: "København Ø",
        phone: "38647000",
        practice: ("394587001", "psykiatri"),
        pathway: ("ALAL03", "Psykiatri"),
        visits: &[(
            "Samtale med psykiater",
            "Ambulatoriet, 2. sal",
            "Du er velkommen til at tage en pårørende med.",
        )],
    },
    Department {
        sor: "257291000016007",
        name: "Hvidovre Hospital, Gynækologisk-obstetrisk afdeling",
        street: "Kettegård Allé 30",
        postal_code: "2650",
        city: "Hvidovre",
        phone: "38626262",
        practice: ("394585009", "gynækologi og obstetrik"),
        pathway: ("ALAL51", "Graviditet"),
        visits: &[
            (
                "Nakkefoldsscanning",
                "Ultralydsklinikken, afsnit 439",
                "Drik gerne et glas vand en time før scanningen.",
            ),
            (
                "Jordemoderkonsultation",
                "Jordemodercentret, indgang 3",
                "Medbring din vandrejournal.",
            ),
        ],
    },
    Department {
        sor: "446311000016009",
        name: "Sygehus Lillebælt, Kolding, Børneafdelingen",
        street: "Sygehusvej 24",
        postal_code: "6000",
        city: "Kolding",
        phone: "76362000",
        practice: ("394537008", "pædiatri"),
        pathway: ("ALAL52", "Nyfødte"),
        visits: &[(
            "Undersøgelse af nyfødt",
            "Børneambulatoriet, indgang 5",
            "Medbring barnets sundhedsbog.",
        )],
    },
    Department {
        sor: "604121000016006",
        name: "Regionshospitalet Viborg, Medicinsk afdeling",
        street: "Heibergs Allé 4",
        postal_code: "8800",
        city: "Viborg",
        phone: "78445000",
        practice: ("418112009", "lungesygdomme"),
        pathway: ("ALAL21", "KOL"),
        visits: &[(
            "Lungerehabilitering, forsamtale",
            "Medicinsk ambulatorium, indgang M",
            "Tag træningstøj med.",
        )],
    },
    Department {
        sor: "387041000016001",
        name: "Sjællands Universitetshospital, Roskilde, Kardiologisk afdeling",
        street: "Sygehusvej 10",
        postal_code: "4000",
        city: "Roskilde",
        phone: "47323200",
        practice: ("394579002", "kardiologi"),
        pathway: ("ALAL02", "Hjertesygdomme"),
        visits: &[(
            "Pacemakerkontrol",
            "Kardiologisk ambulatorium, indgang 2",
            "Medbring dit pacemakerkort.",
        )],
    },
];

const GIVEN_FEMALE: &[&str] = &[
    "Anne",
    "Kirsten",
    "Mette",
    "Hanne",
    "Helle",
    "Susanne",
    "Lene",
    "Maria",
    "Marianne",
    "Lone",
    "Camilla",
    "Pia",
    "Louise",
    "Charlotte",
    "Tina",
    "Gitte",
    "Bente",
    "Inge",
    "Karen",
    "Ida",
    "Emma",
    "Sofie",
    "Freja",
    "Clara",
    "Laura",
    "Anna",
    "Ella",
    "Alma",
    "Agnes",
    "Karla",
];
const GIVEN_MALE: &[&str] = &[
    "Peter",
    "Jens",
    "Michael",
    "Lars",
    "Henrik",
    "Thomas",
    "Søren",
    "Jan",
    "Niels",
    "Christian",
    "Martin",
    "Jørgen",
    "Hans",
    "Anders",
    "Morten",
    "Rasmus",
    "Jesper",
    "Mads",
    "Per",
    "Ole",
    "William",
    "Noah",
    "Oscar",
    "Lucas",
    "Carl",
    "Victor",
    "Malthe",
    "Emil",
    "Aksel",
    "Magnus",
];
const MIDDLE: &[&str] = &[
    "Holm",
    "Lund",
    "Bech",
    "Krog",
    "Dam",
    "Juul",
    "Vestergaard",
    "Nørgaard",
    "Skov",
    "Bak",
    "Kjær",
    "Bjerre",
];
const FAMILY: &[&str] = &[
    "Nielsen",
    "Jensen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Petersen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
    "Christiansen",
    "Poulsen",
    "Johansen",
    "Møller",
    "Mortensen",
    "Knudsen",
    "Jakobsen",
    "Mikkelsen",
    "Frederiksen",
    "Laursen",
    "Henriksen",
    "Lund",
    "Holm",
    "Schmidt",
    "Eriksen",
];
/// Streets with a postal code and town, for patients' addresses.
const ADDRESSES: &[(&str, &str, &str)] = &[
    ("Skovbrynet", "8240", "Risskov"),
    ("Vestergade", "5000", "Odense C"),
    ("Nørrebrogade", "2200", "København N"),
    ("Algade", "9000", "Aalborg"),
    ("Søndergade", "8700", "Horsens"),
    ("Kongensgade", "6700", "Esbjerg"),
    ("Bredgade", "7400", "Herning"),
    ("Strandvejen", "2900", "Hellerup"),
    ("Møllevej", "4000", "Roskilde"),
    ("Ringstedgade", "4700", "Næstved"),
];

/// A synthetic patient: the metadata view plus what the CDA document says about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticPatient {
    pub patient: Patient,
    pub birth: Date,
    pub street: String,
    pub postal_code: &'static str,
    pub city: &'static str,
}

/// One synthetic appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticAppointment {
    pub department: &'static Department,
    pub visit: (&'static str, &'static str, &'static str),
    /// Start and end in Danish local time (with the offset in force then).
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    /// When the document was written (Danish local time).
    pub created: OffsetDateTime,
    /// The clinician who wrote and the one who legally authenticated it, "Given Family".
    pub author: String,
    pub legal_authenticator: String,
    pub document_id: uuid::Uuid,
    pub entry_uuid: uuid::Uuid,
    pub unique_id: uuid::Uuid,
}

impl SyntheticAppointment {
    pub fn institution(&self) -> Institution {
        Institution {
            sor: self.department.sor.to_owned(),
            name: self.department.name.to_owned(),
            facility: Code::new(HOSPITAL.0, dk::SNOMED_CT, Some(HOSPITAL.1)),
            practice: Code::new(
                self.department.practice.0,
                dk::SNOMED_CT,
                Some(self.department.practice.1),
            ),
        }
    }
}

/// The generator: one ChaCha8 stream from the seed; CPR numbers unique within a run.
pub struct Generator {
    rng: ChaCha8Rng,
    used_cprs: std::collections::HashSet<String>,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
            used_cprs: std::collections::HashSet::new(),
        }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    /// A UUID (version 4 layout) from the stream.
    pub fn uuid(&mut self) -> uuid::Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    /// A patient with a CPR number not given before in this run.
    pub fn patient(&mut self) -> SyntheticPatient {
        loop {
            let female = self.rng.random_bool(0.5);
            let year = self.rng.random_range(1930..=2023);
            let ordinal = self.rng.random_range(1..=time::util::days_in_year(year));
            let Ok(birth) = Date::from_ordinal_date(year, ordinal) else {
                continue;
            };
            let cpr = cpr_number(&mut self.rng, birth, female);
            if !self.used_cprs.insert(cpr.clone()) {
                continue;
            }
            let mut given = vec![
                self.pick(if female { GIVEN_FEMALE } else { GIVEN_MALE })
                    .to_owned(),
            ];
            if self.rng.random_bool(0.4) {
                given.push(self.pick(MIDDLE).to_owned());
            }
            let (street, postal_code, city) = self.pick(ADDRESSES);
            let number = self.rng.random_range(1..=120);
            return SyntheticPatient {
                patient: Patient {
                    cpr,
                    given,
                    family: Some(self.pick(FAMILY).to_owned()),
                    birth_date: Some(format!(
                        "{:04}{:02}{:02}",
                        birth.year(),
                        u8::from(birth.month()),
                        birth.day()
                    )),
                    sex: Some(if female { 'F' } else { 'M' }),
                },
                birth,
                street: format!("{street} {number}"),
                postal_code,
                city,
            };
        }
    }

    /// A clinician's name, "Given Family".
    fn clinician(&mut self) -> String {
        let given = if self.rng.random_bool(0.5) {
            self.pick(GIVEN_FEMALE)
        } else {
            self.pick(GIVEN_MALE)
        };
        format!("{given} {}", self.pick(FAMILY))
    }

    /// An appointment on a weekday between 08:00 and 15:30 Danish time, in the year after
    /// [`APPOINTMENTS_FROM`], written 3 to 60 days before.
    pub fn appointment(&mut self) -> SyntheticAppointment {
        let department = &DEPARTMENTS[self.rng.random_range(0..DEPARTMENTS.len())];
        let visit = self.pick(department.visits);
        let mut day =
            APPOINTMENTS_FROM + Duration::days(self.rng.random_range(0..APPOINTMENT_DAYS));
        while matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            day += Duration::days(1);
        }
        let quarter = self.rng.random_range(0..31u8); // 08:00 .. 15:30 in quarters
        let start_time =
            Time::from_hms(8 + quarter / 4, (quarter % 4) * 15, 0).unwrap_or(Time::MIDNIGHT);
        let minutes = self.pick(&[30i64, 45, 60, 90]);
        let start = danish(PrimitiveDateTime::new(day, start_time));
        let end = danish(PrimitiveDateTime::new(day, start_time) + Duration::minutes(minutes));
        let written = day - Duration::days(self.rng.random_range(3..=60));
        let written_at = Time::from_hms(
            self.rng.random_range(7..16),
            self.rng.random_range(0..60),
            self.rng.random_range(0..60),
        )
        .unwrap_or(Time::MIDNIGHT);
        let created = danish(PrimitiveDateTime::new(written, written_at));
        SyntheticAppointment {
            department,
            visit,
            start,
            end,
            created,
            author: self.clinician(),
            legal_authenticator: self.clinician(),
            document_id: self.uuid(),
            entry_uuid: self.uuid(),
            unique_id: self.uuid(),
        }
    }
}

/// A CPR number for a birth date: `DDMMYY`, a 7th digit that places the year in its century
/// (1900-1999: 0-3; 2000-2036: 4 or 9; 2000-2057: 5-8), two free digits, and a last digit
/// that is odd for a man and even for a woman.
pub fn cpr_number(rng: &mut impl Rng, birth: Date, female: bool) -> String {
    let year = birth.year();
    let century_digit: u8 = match year {
        1900..=1999 => rng.random_range(0..=3),
        2000..=2036 => [4u8, 5, 6, 7, 8, 9][rng.random_range(0..6)],
        2037..=2057 => rng.random_range(5..=8),
        // 1858-1899 (5-8); not generated, but kept total.
        _ => rng.random_range(5..=8),
    };
    let middle: u8 = rng.random_range(0..100);
    let last: u8 = rng.random_range(0..5) * 2 + u8::from(!female);
    format!(
        "{:02}{:02}{:02}{}{:02}{}",
        birth.day(),
        u8::from(birth.month()),
        year.rem_euclid(100),
        century_digit,
        middle,
        last
    )
}

/// The birth date a CPR number stands for, when it is a real date (the inverse of
/// [`cpr_number`]'s date part and century rule).
pub fn cpr_birth_date(cpr: &str) -> Option<Date> {
    if cpr.len() != 10 || !cpr.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| cpr.get(range)?.parse::<u16>().ok();
    let day = u8::try_from(number(0..2)?).ok()?;
    let month = Month::try_from(u8::try_from(number(2..4)?).ok()?).ok()?;
    let yy = i32::from(number(4..6)?);
    let century_digit = number(6..7)?;
    let century = match (century_digit, yy) {
        (0..=3, _) => 1900,
        (4 | 9, 0..=36) => 2000,
        (4 | 9, _) => 1900,
        (5..=8, 0..=57) => 2000,
        (5..=8, _) => 1800,
        _ => return None,
    };
    Date::from_calendar_date(century + yy, month, day).ok()
}

/// A Danish local time with the offset in force then: CEST (+02:00) from the last Sunday of
/// March to the last Sunday of October, CET (+01:00) otherwise. The hour of the switch itself
/// does not matter here (appointments are in the daytime).
pub fn danish(local: PrimitiveDateTime) -> OffsetDateTime {
    let year = local.year();
    let summer = last_sunday(year, Month::March)..last_sunday(year, Month::October);
    let hours = if summer.contains(&local.date()) { 2 } else { 1 };
    let offset = UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC);
    local.assume_offset(offset)
}

fn last_sunday(year: i32, month: Month) -> Date {
    let last_day = time::util::days_in_month(month, year);
    let mut day = Date::from_calendar_date(year, month, last_day).unwrap_or(Date::MIN);
    while day.weekday() != Weekday::Sunday {
        day = day.previous_day().unwrap_or(Date::MIN);
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpr_numbers_have_valid_dates_centuries_and_sex() {
        let mut generator = Generator::new(7);
        for _ in 0..2_000 {
            let p = generator.patient();
            let cpr = &p.patient.cpr;
            assert_eq!(cpr.len(), 10, "{cpr}");
            assert_eq!(cpr_birth_date(cpr), Some(p.birth), "{cpr}");
            let last = cpr.as_bytes()[9] - b'0';
            assert_eq!(last % 2 == 1, p.patient.sex == Some('M'), "{cpr}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let run = |seed| {
            let mut generator = Generator::new(seed);
            (0..20)
                .map(|_| (generator.patient(), generator.appointment()))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn appointments_are_on_weekdays_in_daytime() {
        let mut generator = Generator::new(1);
        for _ in 0..500 {
            let a = generator.appointment();
            assert!(!matches!(
                a.start.weekday(),
                Weekday::Saturday | Weekday::Sunday
            ));
            assert!((8..16).contains(&a.start.hour()), "{}", a.start);
            assert!(a.end > a.start && a.created < a.start);
        }
    }

    #[test]
    fn danish_offsets_follow_summer_time() {
        let at = |d: Date| danish(PrimitiveDateTime::new(d, Time::from_hms(10, 0, 0).unwrap()));
        assert_eq!(
            at(time::macros::date!(2027 - 01 - 14))
                .offset()
                .whole_hours(),
            1
        );
        assert_eq!(
            at(time::macros::date!(2026 - 07 - 01))
                .offset()
                .whole_hours(),
            2
        );
        assert_eq!(
            last_sunday(2026, Month::March),
            time::macros::date!(2026 - 03 - 29)
        );
        assert_eq!(
            last_sunday(2026, Month::October),
            time::macros::date!(2026 - 10 - 25)
        );
    }
}
