// Upload box: one request per file, so that each file has its own progress bar; the
// server answers with a row that htmx keeps polling until the file is archived or set
// aside. Without this script the form still posts the files the plain way.
(function () {
  "use strict";

  function errorText(html, status) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var p = doc.querySelector(".notice.error p, main p");
    return p ? p.textContent : "Lỗi " + status;
  }

  function setup(box) {
    var form = box.querySelector("form");
    var input = form.querySelector("input[type=file]");
    var list = box.querySelector(".upload-list");

    function send(file) {
      var row = document.createElement("li");
      row.className = "upload-row";
      var label = document.createElement("span");
      label.textContent = file.name + " — đang tải lên ";
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      row.appendChild(label);
      row.appendChild(bar);
      list.appendChild(row);
      var data = new FormData();
      data.append("csrf_token", form.elements.csrf_token.value);
      data.append("dossier", form.elements.dossier.value);
      data.append("file", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Upload", "1");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
      };
      xhr.onload = function () {
        if (xhr.status === 200) {
          var holder = document.createElement("ul");
          holder.innerHTML = xhr.responseText;
          var fresh = holder.querySelector("li");
          if (fresh) {
            row.replaceWith(fresh);
            if (window.htmx) { window.htmx.process(fresh); }
            return;
          }
        }
        row.classList.add("upload-failed");
        label.textContent = file.name + " — không tải lên được: " +
          errorText(xhr.responseText, xhr.status);
        bar.remove();
      };
      xhr.onerror = function () {
        row.classList.add("upload-failed");
        label.textContent = file.name + " — mất kết nối tới máy chủ; hãy thử lại.";
        bar.remove();
      };
      xhr.send(data);
    }

    function sendAll(files) {
      Array.prototype.forEach.call(files, send);
    }

    input.addEventListener("change", function () {
      sendAll(input.files);
      input.value = "";
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      sendAll(input.files);
      input.value = "";
    });
    box.addEventListener("dragover", function (e) {
      e.preventDefault();
      box.classList.add("drag-over");
    });
    box.addEventListener("dragleave", function () { box.classList.remove("drag-over"); });
    box.addEventListener("drop", function (e) {
      e.preventDefault();
      box.classList.remove("drag-over");
      sendAll(e.dataTransfer.files);
    });
  }

  document.querySelectorAll(".upload-box").forEach(setup);
})();
