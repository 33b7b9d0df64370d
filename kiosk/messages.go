package kiosk

import (
	"strconv"
	"strings"
	"time"
)

// Languages are the kiosk's languages; DefaultLanguage is shown first.
var Languages = []string{"en", "de", "it", "pl"}

// DefaultLanguage is the language of the start page.
const DefaultLanguage = "en"

// languageNames are the languages' own names, for the switcher.
var languageNames = map[string]string{"en": "English", "de": "Deutsch", "it": "Italiano", "pl": "Polski"}

// texts holds every string of the pages by language and key. A missing
// key is a test failure (TestEveryLanguageHasEveryText).
var texts = map[string]map[string]string{
	"en": {
		"title":             "Pick up a parcel",
		"lang_nav":          "Language",
		"qr_heading":        "Scan your QR code",
		"qr_label":          "QR code",
		"qr_hint":           "Hold the QR code from your message under the scanner. It is read into this field.",
		"qr_submit":         "Open with QR code",
		"pin_heading":       "Or enter your pickup code",
		"pin_label":         "Pickup code (6 digits)",
		"phone_label":       "Last 4 digits of your phone number",
		"phone_hint":        "Only if your message asks for them.",
		"pin_submit":        "Open compartment",
		"opened":            "Compartment {label} is open.",
		"opened_hint":       "Please take your parcel and close the door.",
		"deposit_heading":   "Couriers: deposit a parcel",
		"deposit_label":     "Deposit code (6 digits)",
		"deposit_submit":    "Open reserved compartment",
		"deposited_hint":    "Put the parcel in and close the door.",
		"need_deposit_code": "Enter the 6-digit deposit code from the courier app.",
		"wrong":             "The code was not accepted. Please check the code and the phone digits and try again.",
		"locked":            "Too many wrong attempts. Please try again in {wait}, or scan the QR code from your message.",
		"expired":           "This code has expired. The parcel is going back to the sender; please contact the carrier.",
		"offline":           "The locker cannot check codes right now. Please try again in a few minutes.",
		"need_pin":          "Please enter the 6-digit pickup code.",
		"need_phone":        "Please enter exactly 4 digits, or leave the field empty.",
		"need_qr":           "No QR code was read. Please scan it again.",
		"stale":             "This page was open too long. Please enter the code again.",
		"failed":            "Something went wrong. Please try again.",
		"again":             "Back to the start",
		"result_label":      "Result",
		"second":            "1 second",
		"seconds":           "{n} seconds",
		"minutes":           "{n} minutes",
		"minute":            "1 minute",
	},
	"de": {
		"title":             "Paket abholen",
		"lang_nav":          "Sprache",
		"qr_heading":        "QR-Code scannen",
		"qr_label":          "QR-Code",
		"qr_hint":           "Halten Sie den QR-Code aus Ihrer Nachricht unter den Scanner. Er wird in dieses Feld gelesen.",
		"qr_submit":         "Mit QR-Code öffnen",
		"pin_heading":       "Oder Abholcode eingeben",
		"pin_label":         "Abholcode (6 Ziffern)",
		"phone_label":       "Letzte 4 Ziffern Ihrer Telefonnummer",
		"phone_hint":        "Nur wenn Ihre Nachricht danach fragt.",
		"pin_submit":        "Fach öffnen",
		"opened":            "Fach {label} ist offen.",
		"opened_hint":       "Bitte entnehmen Sie Ihr Paket und schließen Sie die Tür.",
		"deposit_heading":   "Zusteller: Paket einlegen",
		"deposit_label":     "Einlegecode (6 Ziffern)",
		"deposit_submit":    "Reserviertes Fach öffnen",
		"deposited_hint":    "Legen Sie das Paket ein und schließen Sie die Tür.",
		"need_deposit_code": "Geben Sie den 6-stelligen Einlegecode aus der Zusteller-App ein.",
		"wrong":             "Der Code wurde nicht angenommen. Bitte prüfen Sie Code und Telefonziffern und versuchen Sie es erneut.",
		"locked":            "Zu viele falsche Versuche. Bitte versuchen Sie es in {wait} erneut oder scannen Sie den QR-Code aus Ihrer Nachricht.",
		"expired":           "Dieser Code ist abgelaufen. Das Paket geht an den Absender zurück; bitte wenden Sie sich an den Paketdienst.",
		"offline":           "Die Station kann gerade keine Codes prüfen. Bitte versuchen Sie es in einigen Minuten erneut.",
		"need_pin":          "Bitte geben Sie den 6-stelligen Abholcode ein.",
		"need_phone":        "Bitte genau 4 Ziffern eingeben oder das Feld leer lassen.",
		"need_qr":           "Es wurde kein QR-Code gelesen. Bitte scannen Sie ihn erneut.",
		"stale":             "Diese Seite war zu lange geöffnet. Bitte geben Sie den Code erneut ein.",
		"failed":            "Etwas ist schiefgegangen. Bitte versuchen Sie es erneut.",
		"again":             "Zurück zum Anfang",
		"result_label":      "Ergebnis",
		"second":            "1 Sekunde",
		"seconds":           "{n} Sekunden",
		"minutes":           "{n} Minuten",
		"minute":            "1 Minute",
	},
	"it": {
		"title":             "Ritira un pacco",
		"lang_nav":          "Lingua",
		"qr_heading":        "Scansiona il codice QR",
		"qr_label":          "Codice QR",
		"qr_hint":           "Tieni il codice QR del tuo messaggio sotto lo scanner. Viene letto in questo campo.",
		"qr_submit":         "Apri con il codice QR",
		"pin_heading":       "Oppure inserisci il codice di ritiro",
		"pin_label":         "Codice di ritiro (6 cifre)",
		"phone_label":       "Ultime 4 cifre del tuo numero di telefono",
		"phone_hint":        "Solo se il messaggio le richiede.",
		"pin_submit":        "Apri lo scomparto",
		"opened":            "Lo scomparto {label} è aperto.",
		"opened_hint":       "Prendi il pacco e chiudi lo sportello.",
		"deposit_heading":   "Corrieri: deposita un pacco",
		"deposit_label":     "Codice di deposito (6 cifre)",
		"deposit_submit":    "Apri lo scomparto riservato",
		"deposited_hint":    "Inserisci il pacco e chiudi lo sportello.",
		"need_deposit_code": "Inserisci il codice di deposito di 6 cifre dall'app del corriere.",
		"wrong":             "Il codice non è stato accettato. Controlla il codice e le cifre del telefono e riprova.",
		"locked":            "Troppi tentativi errati. Riprova tra {wait} oppure scansiona il codice QR del tuo messaggio.",
		"expired":           "Questo codice è scaduto. Il pacco torna al mittente; contatta il corriere.",
		"offline":           "Il locker al momento non può verificare i codici. Riprova tra qualche minuto.",
		"need_pin":          "Inserisci il codice di ritiro di 6 cifre.",
		"need_phone":        "Inserisci esattamente 4 cifre o lascia il campo vuoto.",
		"need_qr":           "Nessun codice QR letto. Scansionalo di nuovo.",
		"stale":             "Questa pagina è rimasta aperta troppo a lungo. Inserisci di nuovo il codice.",
		"failed":            "Qualcosa è andato storto. Riprova.",
		"again":             "Torna all'inizio",
		"result_label":      "Esito",
		"second":            "1 secondo",
		"seconds":           "{n} secondi",
		"minutes":           "{n} minuti",
		"minute":            "1 minuto",
	},
	"pl": {
		"title":             "Odbierz paczkę",
		"lang_nav":          "Język",
		"qr_heading":        "Zeskanuj kod QR",
		"qr_label":          "Kod QR",
		"qr_hint":           "Przyłóż kod QR z wiadomości do skanera. Zostanie wczytany do tego pola.",
		"qr_submit":         "Otwórz kodem QR",
		"pin_heading":       "Albo wpisz kod odbioru",
		"pin_label":         "Kod odbioru (6 cyfr)",
		"phone_label":       "Ostatnie 4 cyfry numeru telefonu",
		"phone_hint":        "Tylko jeśli wiadomość o nie prosi.",
		"pin_submit":        "Otwórz skrytkę",
		"opened":            "Skrytka {label} jest otwarta.",
		"opened_hint":       "Wyjmij paczkę i zamknij drzwiczki.",
		"deposit_heading":   "Kurierzy: nadanie paczki",
		"deposit_label":     "Kod nadania (6 cyfr)",
		"deposit_submit":    "Otwórz zarezerwowaną skrytkę",
		"deposited_hint":    "Włóż paczkę i zamknij drzwiczki.",
		"need_deposit_code": "Wpisz 6-cyfrowy kod nadania z aplikacji kuriera.",
		"wrong":             "Kod nie został przyjęty. Sprawdź kod i cyfry telefonu i spróbuj ponownie.",
		"locked":            "Zbyt wiele błędnych prób. Spróbuj ponownie za {wait} albo zeskanuj kod QR z wiadomości.",
		"expired":           "Ten kod wygasł. Paczka wraca do nadawcy; skontaktuj się z przewoźnikiem.",
		"offline":           "Automat nie może teraz sprawdzać kodów. Spróbuj ponownie za kilka minut.",
		"need_pin":          "Wpisz 6-cyfrowy kod odbioru.",
		"need_phone":        "Wpisz dokładnie 4 cyfry albo zostaw pole puste.",
		"need_qr":           "Nie wczytano kodu QR. Zeskanuj go ponownie.",
		"stale":             "Ta strona była otwarta zbyt długo. Wpisz kod ponownie.",
		"failed":            "Coś poszło nie tak. Spróbuj ponownie.",
		"again":             "Wróć do początku",
		"result_label":      "Wynik",
		"second":            "1 s",
		"seconds":           "{n} s",
		"minutes":           "{n} min",
		"minute":            "1 min",
	},
}

// text returns the string key of lang (English if missing).
func text(lang, key string) string {
	if s, ok := texts[lang][key]; ok {
		return s
	}
	return texts[DefaultLanguage][key]
}

// waitText says how long to wait, rounded up to whole minutes from a
// minute on (a kiosk should not make anyone count seconds).
func waitText(lang string, d time.Duration) string {
	if d < time.Minute {
		n := max(1, int((d+time.Second-1)/time.Second))
		if n == 1 {
			return text(lang, "second")
		}
		return replace(text(lang, "seconds"), "{n}", strconv.Itoa(n))
	}
	n := int((d + time.Minute - 1) / time.Minute)
	if n == 1 {
		return text(lang, "minute")
	}
	return replace(text(lang, "minutes"), "{n}", strconv.Itoa(n))
}

// replace substitutes one placeholder.
func replace(s, placeholder, value string) string { return strings.ReplaceAll(s, placeholder, value) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
