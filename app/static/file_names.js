/* Offers a DOC-2 name for each chosen file whose name breaks the rule, in an input the person may edit
   (<field>_name_<index>). safeFileName repeats app/documents/services.py safe_file_name character for
   character: the server applies that one when no name comes, so the page works without this script. */
"use strict";

(() => {
  const MAX_NAME_LENGTH = 50; // services.MAX_NAME_LENGTH
  const LOWEST_MARK = "\u0334"; // canonical combining class 1
  const HIGHEST_MARK = "\u0345"; // canonical combining class 240, the highest

  // JavaScript cannot read a character's canonical combining class, which Python's unicodedata.combining
  // returns; canonical ordering shows it: only a mark of class above 1 moves before U+0334, only a mark of
  // class below 240 moves after U+0345, and a character of class 0 (a starter) moves past neither.
  const isCombining = (ch) =>
    ("a" + ch + LOWEST_MARK).normalize("NFD") !== "a" + ch + LOWEST_MARK ||
    ("a" + HIGHEST_MARK + ch).normalize("NFD") !== "a" + HIGHEST_MARK + ch;

  const splitName = (name) => {
    // PurePath(name.replace("\\", "/")): the last part that is not empty or "."; its suffix as Python's.
    const parts = name.replace(/\\/g, "/").split("/").filter((part) => part !== "" && part !== ".");
    const base = parts.length ? parts[parts.length - 1] : "";
    const dot = base.lastIndexOf(".");
    return dot > 0 && dot < base.length - 1 ? [base.slice(0, dot), base.slice(dot)] : [base, ""];
  };

  const safeFileName = (name) => {
    const [rawStem, rawSuffix] = splitName(name);
    // 'báo cáo.đ', 'a. b': no extension, part of the name
    const hasExtension = /^\.[a-z0-9]{1,10}$/.test(rawSuffix.toLowerCase());
    const stem = hasExtension ? rawStem : rawStem + rawSuffix;
    const suffix = hasExtension ? rawSuffix.toLowerCase() : "";
    const decomposed = stem.replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFKD");
    const bare = Array.from(decomposed).filter((ch) => !isCombining(ch)).join("");
    const ascii = bare.replace(/[^A-Za-z0-9_-]+/gu, "_").replace(/^_+|_+$/g, "");
    // Cut, then trim again: a cut ending in '_' would be trimmed by the next correction.
    const cut = ascii.slice(0, MAX_NAME_LENGTH - suffix.length).replace(/^_+|_+$/g, "");
    return (cut || "tep") + suffix;
  };

  const suffixOf = (name) => splitName(name)[1];

  const offerNames = (input, texts) => {
    const box = input.parentElement.querySelector(".file-name-offers") || document.createElement("div");
    box.className = "file-name-offers";
    box.replaceChildren();
    input.after(box);
    Array.from(input.files || []).forEach((file, index) => {
      const offered = safeFileName(file.name);
      if (offered === file.name) return;
      const row = document.createElement("div");
      row.className = "field file-name-offer";
      row.dataset.fileIndex = String(index);
      const label = document.createElement("label");
      const original = document.createElement("strong");
      original.textContent = file.name;
      label.append(original, " — ", texts.offer);
      const name = document.createElement("input");
      name.type = "text";
      name.id = `${input.id}-name-${index}`;
      name.name = `${input.name}_name_${index}`;
      name.value = offered;
      name.maxLength = MAX_NAME_LENGTH;
      name.required = true;
      name.autocomplete = "off";
      label.htmlFor = name.id;
      const problem = document.createElement("small");
      problem.className = "error-text";
      problem.setAttribute("role", "alert");
      problem.hidden = true;
      problem.textContent = texts.rule;
      name.addEventListener("input", () => {
        const chosen = name.value.trim();
        const isValid = chosen === "" || (safeFileName(chosen) === chosen && suffixOf(chosen) === suffixOf(offered));
        name.setCustomValidity(isValid ? "" : texts.rule); // empty is refused by `required`
        problem.hidden = isValid;
        row.classList.toggle("has-error", !isValid);
      });
      row.append(label, name, problem);
      box.append(row);
    });
  };

  document.querySelectorAll("form[data-file-name-offer]").forEach((form) => {
    const texts = { offer: form.dataset.fileNameOffer, rule: form.dataset.fileNameRule };
    form.querySelectorAll("input[type=file]").forEach((input) => {
      input.addEventListener("change", () => offerNames(input, texts));
      if (input.files && input.files.length) offerNames(input, texts); // files kept by a back navigation
    });
  });
})();
